"""The web app's logic, standing apart over the library: configuration (``config``), the style gallery (``gallery``),
the stylize jobs (``stylize_jobs``; what a job hands back, ``stylize_outcome``; its expiring output folders,
``job_space``; the networks shared by all jobs, ``model_cache``; the count of running jobs, ``job_activity``), the line
of stylize jobs with its wait estimates (``line``) and the status line a visitor reads (``progress``), the flicker
comparison views (``comparison``), the A/B pair (``ab_pair``), the pre-rendered A/B pairs (``showcase``), the blind
vote (``blind_vote``) and its store (``votes``), Gradio's served copies of our files (``served_copies``), the Live tab
(``live``: an in-browser page, ``live_page/``, whose runtime the library fetches: :mod:`vst.web_runtime`), and the
page's components (``layout``), their event handlers (``handlers``), what they show (``views``) and the example clips
(``example_clips``). ``app.py`` at the top level is the Gradio layout and event wiring only. The library and
``training`` never import this package."""
