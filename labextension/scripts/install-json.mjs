// Writes install.json next to the built extension so `jupyter labextension list`
// reports it as installed by the python package stratum-jupyter.
import { writeFileSync, readFileSync } from 'node:fs';
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url)));
const out = new URL('../' + pkg.jupyterlab.outputDir + '/install.json', import.meta.url);
writeFileSync(
  out,
  JSON.stringify(
    {
      packageManager: 'python',
      packageName: 'stratum-jupyter',
      uninstallInstructions: 'Use your Python package manager (pip, conda, etc.) to uninstall the package stratum-jupyter'
    },
    null,
    2
  ) + '\n'
);
