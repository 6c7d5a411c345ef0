"""Pure builders: plotly figures, HTML token renderers, tables and explanatory text, made from core results.

Nothing here imports Streamlit, so every builder is tested on the object it returns (tests/components).
Each file is named for the concept it draws, like its core/ counterpart: attention.py draws core/attention.py.
"""
