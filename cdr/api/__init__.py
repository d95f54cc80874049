"""REST API of the cdr app (Django REST framework): token auth, call records, streamed export."""
