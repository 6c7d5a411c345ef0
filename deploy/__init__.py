"""Serving a bigger class: several Streamlit replicas of the app behind nginx, with sticky sessions (issue 15)."""
