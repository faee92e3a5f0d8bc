"""Examples that use the client and the graphs; not part of the shipped packages."""
