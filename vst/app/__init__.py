"""The web app's logic, standing apart over the library: configuration (``config``), the stylize and vote services
(``service``), the flicker comparison views (``comparison``), the pre-rendered A/B pairs (``showcase``) and the vote
store (``votes``). ``app.py`` at the top level is the Gradio layout only."""
