// Package infra holds no Go code. The directory is plsgate's Azure deployment: main.bicep with its
// modules, main.parameters.json, and the two JSON files the templates load (role-actions.json,
// eventgrid-filter.json). Its tests read those files as text and JSON and fail when they drift
// from the code: settings (internal/config), functions/ and host.json, ARM actions
// (internal/arm.Operations), relevant events (internal/events) and table names (internal/store).
// No Bicep compiler can be installed from the registries this project reaches, so the tests also
// check the templates' structure (brackets, strings, module parameters, files they load).
package infra
