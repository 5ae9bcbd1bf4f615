DROP TABLE notifications;
DROP TABLE approval_requests;
DROP TABLE step_ends;
DROP TABLE run_steps;
DROP FUNCTION run_steps_counted();
DROP TABLE runs;
DROP TABLE workspaces;
