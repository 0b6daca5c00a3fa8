// JupyterLab plugin: registers the stratum-jupyter widget module with the ipywidgets manager.
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IJupyterWidgetRegistry } from '@jupyter-widgets/base';

import { StratumGraphModel, StratumGraphView } from './view';
import { MODULE_NAME, MODULE_VERSION } from './version';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'stratum-jupyter:widget',
  description: 'The batch graph widget of stratum-jupyter (%stratum show).',
  requires: [IJupyterWidgetRegistry as any],
  autoStart: true,
  activate: (_app: JupyterFrontEnd, registry: IJupyterWidgetRegistry) => {
    registry.registerWidget({
      name: MODULE_NAME,
      version: MODULE_VERSION,
      exports: { StratumGraphModel, StratumGraphView }
    });
  }
};

export default plugin;
export { StratumGraphModel, StratumGraphView, MODULE_NAME, MODULE_VERSION };
