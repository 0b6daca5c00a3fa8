// Must equal package.json's name/version and stratum_jupyter/widget.py's NPM_PACKAGE/NPM_VERSION
// (checked by test/logic.test.ts and tests/test_widget.py).
export const MODULE_NAME = 'stratum-jupyter';
export const MODULE_VERSION = '0.1.0';
