"""What every app shares: the API's error edge and strict JSON, domain errors and their words,
pagination, throttling, bulk writes, work after a commit, the database backend and the cache.
It sits at the bottom of the house and imports no app; the apps import it, never the project
package `configconsole/`."""
