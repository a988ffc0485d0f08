"""Images: references, the content-addressed store, layer unpacking, archives."""
