"""On PostgreSQL, the database itself refuses to change or remove audit events.

UPDATE and DELETE are refused row by row, TRUNCATE for the whole table. The one update allowed
is sealing (audit/chain.py): setting seq, prev_hash and hash on an event not sealed yet, with
every other column unchanged, and only as the chain's next link: seq one past the highest
sealed so far, prev_hash the hash of the event at the place before (empty for the first) and a
hash that looks like one. Anything else would let a stray update take a place in the chain that
no later seal could follow, and verify_audit would fail for good.

TRUNCATE is allowed only in a database whose owner declared it disposable with
`ALTER DATABASE … SET configconsole.allow_audit_truncate = 'on'`: the test databases, which
Django empties with one TRUNCATE of every table between transactional tests (tests/conftest.py
sets it). The trigger reads the database's own setting from pg_db_role_setting, not the
session's, so a session cannot grant itself the exemption with SET.
"""

from django.db import migrations

INSTALL = """
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.seq IS NULL AND NEW.seq IS NOT NULL
           AND to_jsonb(NEW) - ARRAY['seq', 'prev_hash', 'hash']
               = to_jsonb(OLD) - ARRAY['seq', 'prev_hash', 'hash']
           AND NEW.hash ~ '^[0-9a-f]{64}$'
           AND NEW.seq = (SELECT COALESCE(max(seq), 0) + 1 FROM audit_auditevent)
           AND NEW.prev_hash IS NOT DISTINCT FROM (
               CASE WHEN NEW.seq = 1 THEN ''
                    ELSE (SELECT hash FROM audit_auditevent WHERE seq = NEW.seq - 1) END
           ) THEN
            RETURN NEW;
        END IF;
    ELSIF TG_OP = 'TRUNCATE' THEN
        IF EXISTS (
            SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
            WHERE d.datname = current_database() AND s.setrole = 0
              AND 'configconsole.allow_audit_truncate=on' = ANY (s.setconfig)
        ) THEN
            RETURN NULL;
        END IF;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'insufficient_privilege',
        MESSAGE = 'The audit log is append-only: ' || TG_OP || ' on ' || TG_TABLE_NAME
                  || ' is refused.',
        HINT = 'Audit events are never changed or removed; record a new event instead.';
END
$body$;

CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();

CREATE TRIGGER audit_event_no_truncate
    BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change();
"""

REMOVE = """
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_refuse_change();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVE, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_chain")]

    operations = [migrations.RunPython(install, remove)]
