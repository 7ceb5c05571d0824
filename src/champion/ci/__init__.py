"""The CI run champion is part of (GitHub Actions): what it says about the run (`context`) and
what a step hands back to its workflow (`workflow`: outputs, the job summary, annotations), and
the actions' entry point (`python -m champion.ci.action`: the inputs, from env, to one command).

Read and written here only. Elsewhere (a laptop, another CI) there is no run to name and no file
to write: `context` answers None and `workflow` writes nothing.
"""
