"""Mining fix commits from a repository's history into tasks (``swegym curate mine``).

``pipeline.run_mine`` runs the stages, each in its own module: ``repository`` (open or clone the
repository), ``history`` (read its git history), ``classify`` (what each changed file is),
``extract`` (a candidate commit -> a raw task, with the stage funnel), ``issues`` (problem
statements from linked issues or messages), ``spec_proposal`` (an env spec from the build
files), ``envs`` (propose and build each version's env) and ``validation`` (leak check, labels).
"""
