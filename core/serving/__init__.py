"""Serving machinery, apart from the lessons' concepts: the one inference queue, the class-poll room stores, the
operator's model server and the backend protocol pages ask of a model."""
