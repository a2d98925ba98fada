"""Build hook: a wheel carries the models.

The top-level ``models/`` folder is their source (rebuilt by ``export/``); a built wheel
gets a copy in ``edge_app/models/`` so ``pip install .`` gives a working app. An editable
install reads ``models/`` directly (``edge_app.engine.vision.models.default_models_dir``).
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class build_py_with_models(build_py):
    def run(self):
        super().run()
        if self.editable_mode:
            return
        src = HERE / "models"
        dest = Path(self.build_lib) / "edge_app" / "models"
        dest.mkdir(parents=True, exist_ok=True)
        for f in sorted(src.iterdir()):
            if f.suffix in (".onnx", ".json", ".txt"):
                shutil.copy2(f, dest / f.name)


setup(cmdclass={"build_py": build_py_with_models})
