import type { Knex } from "knex";

/**
 * The audit trail is append-only for everyone who can reach the database through the app: UPDATE is always
 * refused; DELETE and TRUNCATE only inside a transaction that declared itself a retention job
 * (`SET LOCAL stackyard.audit_retention = 'on'`), so a removal is always a deliberate, visible step.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP <> 'UPDATE' AND current_setting('stackyard.audit_retention', true) = 'on' THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege', HINT = 'only a retention job may remove audit events';
    END
    $$`);
  await knex.raw(`
    CREATE TRIGGER audit_events_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_events
      FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`);
  await knex.raw(`
    CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
      FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP TRIGGER audit_events_no_truncate ON audit_events");
  await knex.raw("DROP TRIGGER audit_events_no_update_or_delete ON audit_events");
  await knex.raw("DROP FUNCTION audit_events_append_only()");
}
