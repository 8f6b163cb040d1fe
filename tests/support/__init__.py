"""Helpers for Paicha's end-to-end tests: the server as a subprocess, PouchDB devices, HTTP."""
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = TESTS_DIR.parent
NODE_DIR = TESTS_DIR / "node"
NODE_MODULES = TESTS_DIR / "node_modules"
ARTIFACTS_DIR = TESTS_DIR / "artifacts"
