"""The pages (design §12): the SUP archive, HR's review queue, the answer form.

``app.create_app`` is the Flask app factory; each page group is a blueprint in
its own module (``sign_in``, ``sups``, ``answer``, ``people``, ``hr``,
``ops``, ``health``); ``roles`` decides who sees what, on the server, for every
page. ``links`` and ``signing`` are leaves that mail uses too (the links in
every mail), so this package's ``__init__`` imports nothing.
"""
