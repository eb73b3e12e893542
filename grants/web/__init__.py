"""HTTP: one module of routes per audience. Handlers parse, call a service, render."""
