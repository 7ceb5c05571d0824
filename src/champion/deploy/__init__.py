"""Getting a registered version to the services that run it: the pointer JSON a service reads
(pointer), the folder or bucket it lives in (store), publishing it from the tags (publish), what
follows a stage change (after_change: publish, dispatch the deploy workflow) and canaries (canary).

Empty on purpose: the serving runtime imports deploy.pointer and deploy.store, and nothing else of
this folder may come with them.
"""
