import type { Knex } from "knex";

/**
 * The release manifest (`stackyard.yaml`, optional): its text as uploaded or read from git, and the validated
 * document the deploy worker reads hooks and the deploy timeout from. Frozen like the compose file.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("stack_releases", (t) => {
    t.text("manifest_yaml");
    t.jsonb("manifest_json");
  });
  await knex.raw(`
    CREATE OR REPLACE FUNCTION stack_releases_reject_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.compose_yaml IS DISTINCT FROM OLD.compose_yaml
        OR NEW.compose_sha256 IS DISTINCT FROM OLD.compose_sha256
        OR NEW.version IS DISTINCT FROM OLD.version
        OR NEW.stack_id IS DISTINCT FROM OLD.stack_id
        OR NEW.org_id IS DISTINCT FROM OLD.org_id
        OR NEW.source_type IS DISTINCT FROM OLD.source_type
        OR NEW.source_ref IS DISTINCT FROM OLD.source_ref
        OR NEW.manifest_yaml IS DISTINCT FROM OLD.manifest_yaml
        OR NEW.manifest_json IS DISTINCT FROM OLD.manifest_json THEN
        RAISE EXCEPTION 'stack release % is immutable', OLD.id USING ERRCODE = 'restrict_violation';
      END IF;
      RETURN NEW;
    END;
    $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION stack_releases_reject_update() RETURNS trigger LANGUAGE plpgsql AS $$
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
  `);
  await knex.schema.alterTable("stack_releases", (t) => {
    t.dropColumn("manifest_yaml");
    t.dropColumn("manifest_json");
  });
}
