-- "My open" and other queues of one assignee: with the assignee as the leading column the scan
-- starts at that agent's tickets in SLA order and stops after one page, instead of walking the
-- whole `tickets_sla` index to find an agent's few tickets (measured: an agent owning no ticket
-- among 100,000 cost ~30 ms per page through `tickets_sla`). The filter columns are covered, as in
-- 0002. It replaces the single-column `tickets_assignee`, whose every use it serves.
DROP INDEX tickets_assignee;
CREATE INDEX tickets_assignee_sla ON tickets(assignee_id, sla_sort, id, status, team_id, merged_into);
