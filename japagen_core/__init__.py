"""japagen: Japanese text classifiers from LLM-generated training data (the engine).

The engine never imports streamlit; the app in ``app/`` and ``pages/`` is a thin layer over it.
"""

__version__ = "0.1.0"
