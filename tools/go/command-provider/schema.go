package main

// schemaJSON is a minimal package schema of our own for what this stand-in serves: package `command`
// 1.2.1, the command:local:Command resource with its inputs and outputs, the command:local:Logging
// enum and the command:local:run function. Property names, types, required outputs and the
// replaceOnChanges flag on `triggers` match upstream's generated schema
// (provider/cmd/pulumi-resource-command/schema.json at v1.2.1); the descriptions are short
// summaries, and remote:*, CopyToRemote and the language sections are left out. The engine does not
// read a provider's schema during preview/up/destroy; `pulumi package get-schema` and SDK generation do.
const schemaJSON = `{
  "name": "command",
  "version": "1.2.1",
  "displayName": "Command",
  "description": "Castle stand-in for the Pulumi Command provider: runs local commands as part of the resource model.",
  "config": {},
  "provider": {},
  "types": {
    "command:local:Logging": {
      "type": "string",
      "enum": [
        {"value": "stdout", "description": "Log stdout, not stderr."},
        {"value": "stderr", "description": "Log stderr, not stdout."},
        {"value": "stdoutAndStderr", "description": "Log stdout and stderr."},
        {"value": "none", "description": "Log nothing."}
      ]
    }
  },
  "resources": {
    "command:local:Command": {
      "description": "Runs a command on the machine running Pulumi: create on creation, update (or create) on a change of inputs, delete on deletion.",
      "inputProperties": {
        "addPreviousOutputInEnv": {"type": "boolean", "description": "Pass the previous stdout/stderr as PULUMI_COMMAND_STDOUT/PULUMI_COMMAND_STDERR. Defaults to true."},
        "archivePaths": {"type": "array", "items": {"type": "string"}, "description": "Globs of files to return as one archive."},
        "assetPaths": {"type": "array", "items": {"type": "string"}, "description": "Globs of files to return as assets."},
        "create": {"type": "string", "description": "Command run on creation (and on update when there is no update command)."},
        "delete": {"type": "string", "description": "Command run on deletion."},
        "dir": {"type": "string", "description": "Working directory of the command."},
        "environment": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Additional environment variables."},
        "interpreter": {"type": "array", "items": {"type": "string"}, "description": "Program and arguments that run the command; defaults to [\"/bin/sh\", \"-c\"]."},
        "logging": {"$ref": "#/types/command:local:Logging", "description": "Which streams to log. Defaults to both."},
        "stdin": {"type": "string", "description": "Standard input of the command."},
        "triggers": {"type": "array", "items": {"$ref": "pulumi.json#/Any"}, "replaceOnChanges": true, "description": "Values whose change replaces the resource."},
        "update": {"type": "string", "description": "Command run when the inputs change."}
      },
      "properties": {
        "addPreviousOutputInEnv": {"type": "boolean"},
        "archive": {"$ref": "pulumi.json#/Archive", "description": "Archive of the files matched by archivePaths."},
        "archivePaths": {"type": "array", "items": {"type": "string"}},
        "assetPaths": {"type": "array", "items": {"type": "string"}},
        "assets": {"type": "object", "additionalProperties": {"$ref": "pulumi.json#/Asset"}, "description": "Files matched by assetPaths."},
        "create": {"type": "string"},
        "delete": {"type": "string"},
        "dir": {"type": "string"},
        "environment": {"type": "object", "additionalProperties": {"type": "string"}},
        "interpreter": {"type": "array", "items": {"type": "string"}},
        "logging": {"$ref": "#/types/command:local:Logging"},
        "stderr": {"type": "string", "description": "Standard error of the last run."},
        "stdin": {"type": "string"},
        "stdout": {"type": "string", "description": "Standard output of the last run."},
        "triggers": {"type": "array", "items": {"$ref": "pulumi.json#/Any"}, "replaceOnChanges": true},
        "update": {"type": "string"}
      },
      "required": ["stderr", "stdout"]
    }
  },
  "functions": {
    "command:local:run": {
      "description": "Runs a command on every preview and update.",
      "inputs": {
        "properties": {
          "addPreviousOutputInEnv": {"type": "boolean"},
          "archivePaths": {"type": "array", "items": {"type": "string"}},
          "assetPaths": {"type": "array", "items": {"type": "string"}},
          "command": {"type": "string"},
          "dir": {"type": "string"},
          "environment": {"type": "object", "additionalProperties": {"type": "string"}},
          "interpreter": {"type": "array", "items": {"type": "string"}},
          "logging": {"$ref": "#/types/command:local:Logging"},
          "stdin": {"type": "string"}
        },
        "type": "object",
        "required": ["command"]
      },
      "outputs": {
        "properties": {
          "addPreviousOutputInEnv": {"type": "boolean"},
          "archive": {"$ref": "pulumi.json#/Archive"},
          "archivePaths": {"type": "array", "items": {"type": "string"}},
          "assetPaths": {"type": "array", "items": {"type": "string"}},
          "assets": {"type": "object", "additionalProperties": {"$ref": "pulumi.json#/Asset"}},
          "command": {"type": "string"},
          "dir": {"type": "string"},
          "environment": {"type": "object", "additionalProperties": {"type": "string"}},
          "interpreter": {"type": "array", "items": {"type": "string"}},
          "logging": {"$ref": "#/types/command:local:Logging"},
          "stderr": {"type": "string"},
          "stdin": {"type": "string"},
          "stdout": {"type": "string"}
        },
        "type": "object",
        "required": ["command", "stderr", "stdout"]
      }
    }
  }
}`
