"""A local simulator of the platforms' open APIs (no network beyond this machine): `python -m marketplaces.simulator`.

One HTTP server; each platform is a module with a PlatformSim subclass mounted under `/<name>/` (PLATFORMS in
server.py). It checks signatures, keeps state, answers in the documented shapes, sends pushes to the desk and
injects faults. Tests run it in a thread and talk to it through real HTTP; `make run` runs it as a process.
"""
