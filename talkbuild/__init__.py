"""The deck builder: Markdown slides and figure scripts in, an offline reveal.js deck out."""
