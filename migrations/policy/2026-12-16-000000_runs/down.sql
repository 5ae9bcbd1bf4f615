DROP TABLE notifications;
DROP TABLE approval_requests;
DROP TABLE step_ends;
DROP TABLE run_steps;
DROP TABLE runs;
DROP TABLE workspaces;
