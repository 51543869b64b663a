import type { Knex } from "knex";

/**
 * Releases stay frozen, with one exception: a release `building` may, in the same update that makes it `ready`,
 * receive its frozen compose (the built digests). A release's build status only leaves `building`, once.
 */
const FROZEN_FIELDS = `NEW.version IS DISTINCT FROM OLD.version
        OR NEW.stack_id IS DISTINCT FROM OLD.stack_id
        OR NEW.org_id IS DISTINCT FROM OLD.org_id
        OR NEW.source_type IS DISTINCT FROM OLD.source_type
        OR NEW.source_ref IS DISTINCT FROM OLD.source_ref
        OR NEW.manifest_yaml IS DISTINCT FROM OLD.manifest_yaml
        OR NEW.manifest_json IS DISTINCT FROM OLD.manifest_json`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION stack_releases_reject_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF ${FROZEN_FIELDS}
        OR NEW.source_compose_yaml IS DISTINCT FROM OLD.source_compose_yaml
        OR (NEW.build_status IS DISTINCT FROM OLD.build_status
            AND (OLD.build_status IS DISTINCT FROM 'building' OR NEW.build_status IS NULL))
        OR ((NEW.compose_yaml IS DISTINCT FROM OLD.compose_yaml OR NEW.compose_sha256 IS DISTINCT FROM OLD.compose_sha256)
            AND NOT (OLD.build_status IS NOT DISTINCT FROM 'building' AND NEW.build_status IS NOT DISTINCT FROM 'ready')) THEN
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
        OR ${FROZEN_FIELDS} THEN
        RAISE EXCEPTION 'stack release % is immutable', OLD.id USING ERRCODE = 'restrict_violation';
      END IF;
      RETURN NEW;
    END;
    $$;
  `);
}
