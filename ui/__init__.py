"""Streamlit plumbing and page parts: session state, sharing, settings, the model cache and picker, navigation,
presenter mode, messages, and the st.* panels and callbacks of single pages. The only package besides app_pages/
and app.py that calls Streamlit."""
