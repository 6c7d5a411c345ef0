"""Page parts: one module per page, named exactly like its page in app_pages/ (its panels and fragments)."""
