// The app shell offline: Workbox precaches every file of the shell (the server fills in the list,
// each file with its content hash, so a changed file is fetched again and nothing else is).
// Data never goes through here: it lives in PouchDB, and requests to the server pass untouched.
importScripts('vendor/workbox/workbox-sw.js');
workbox.setConfig({ modulePathPrefix: 'vendor/workbox/', debug: false });
workbox.core.skipWaiting();
workbox.core.clientsClaim();
workbox.precaching.cleanupOutdatedCaches();
workbox.precaching.precacheAndRoute(self.__PRECACHE__, { ignoreURLParametersMatching: [/.*/] });
