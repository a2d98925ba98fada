"""edge_app: groups site photos that show the same part of the same place.

Library first: :mod:`edge_app.engine.pipeline` runs the stages over a folder or a list of
photos, :mod:`edge_app.engine.grouping` holds the pure clustering maths, and
:mod:`edge_app.cli` is a thin layer on top.
"""

__version__ = "0.1.0"
