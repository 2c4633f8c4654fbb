"""The pages (design §12): the SUP archive, HR's review queue, the answer form.

``app.create_app`` is the Flask app factory; each page group is a blueprint in
its own module (``sign_in``, ``sups``, ``answer``, ``people``, ``hr``,
``ops``, ``health``); ``roles`` decides who sees what, on the server, for every
page. Nothing below the pages imports them: the URLs every mail carries are
``outbound.links``, the signed values ``tokens``.
"""
