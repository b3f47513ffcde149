//! regshift moves an Ansible-managed infrastructure from one container registry to another with
//! exact, format-preserving edits (see SPEC.md, README.md and ARCHITECTURE.md).
//!
//! Data flow: [`walk`] lists the tree → [`rules`] pick files by glob → [`formats`] locate places
//! in them (Jinja masked) → [`find`] spots references → [`plan`] computes byte splices
//! ([`edit`]) → [`report`] renders them; `apply` writes them atomically.

pub mod ansible;
pub mod apache;
pub mod apply;
pub mod audit;
pub mod checklist;
pub mod cli;
pub mod edit;
pub mod error;
pub mod explain;
pub mod find;
pub mod formats;
pub mod git;
pub mod history;
pub mod migration;
pub mod parallel;
pub mod plan;
pub mod plays;
pub mod progress;
pub mod project;
pub mod prove;
pub mod redact;
pub mod report;
pub mod review;
pub mod rollback;
pub mod rules;
pub mod ruletest;
pub mod saved;
pub mod scope;
pub mod select;
pub mod series;
pub mod settings;
pub mod sites;
pub mod template;
pub mod transaction;
pub mod unread;
pub mod walk;
