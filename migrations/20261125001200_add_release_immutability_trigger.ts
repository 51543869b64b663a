import type { Knex } from "knex";

/** Releases are frozen: the database itself refuses to change what a release deploys. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION stack_releases_reject_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.compose_yaml IS DISTINCT FROM OLD.compose_yaml
        OR NEW.compose_sha256 IS DISTINCT FROM OLD.compose_sha256
        OR NEW.version IS DISTINCT FROM OLD.version
        OR NEW.stack_id IS DISTINCT FROM OLD.stack_id
        OR NEW.org_id IS DISTINCT FROM OLD.org_id
        OR NEW.source_type IS DISTINCT FROM OLD.source_type
        OR NEW.source_ref IS DISTINCT FROM OLD.source_ref THEN
        RAISE EXCEPTION 'stack release % is immutable', OLD.id USING ERRCODE = 'restrict_violation';
      END IF;
      RETURN NEW;
    END;
    $$;
    CREATE TRIGGER stack_releases_immutable BEFORE UPDATE ON stack_releases
      FOR EACH ROW EXECUTE FUNCTION stack_releases_reject_update();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER stack_releases_immutable ON stack_releases;
    DROP FUNCTION stack_releases_reject_update();
  `);
}
