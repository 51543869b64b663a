import type { Knex } from "knex";

/**
 * Endpoints that asked for `cluster.offline` were told of a leaf-mode site's WAN cut, which showed as offline before
 * `link_down` existed: they now also get `cluster.link_down`, so a cut they were warned of keeps warning them.
 * Down removes it again from every endpoint (the type does not exist before this change).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(
    `UPDATE notification_endpoints SET event_types = array_append(event_types, 'cluster.link_down')
      WHERE 'cluster.offline' = ANY(event_types) AND NOT 'cluster.link_down' = ANY(event_types)`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`UPDATE notification_endpoints SET event_types = array_remove(event_types, 'cluster.link_down')`);
}
