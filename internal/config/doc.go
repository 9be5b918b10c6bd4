// Package config owns plsgate's app settings: it turns the environment (app
// settings in Azure, local.settings.json values locally) into a typed Config
// and refuses bad values with an error naming the setting. Settings is the one
// list of settings that the README, local.settings.sample.json and infra are
// checked against. It does no I/O beyond reading the environment.
package config
