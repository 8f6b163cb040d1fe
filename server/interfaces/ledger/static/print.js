// The header's print button (a file of its own: the pages allow no inline script).
(function () {
  function wire() {
    var button = document.getElementById("print-page");
    if (button) button.onclick = function () { window.print(); };
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire); else wire();
})();
