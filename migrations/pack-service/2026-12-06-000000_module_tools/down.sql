DROP TABLE module_tools;
