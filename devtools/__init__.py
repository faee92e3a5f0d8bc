"""Dev-only tooling shared by tests and bench: dev server launcher, ports, scripted OpenAI."""
