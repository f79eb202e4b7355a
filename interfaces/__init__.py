"""Entry points: the HTTP service and the ``wms-intake`` command. The
composition root (``container``) lives here."""
