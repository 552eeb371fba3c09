//! `transport()` of the IP drivers, checked with the same rules start-up applies
//! ([`crate::transport::resolve`]).

use super::Lowerer;
use crate::diagnostic::codes;
use crate::ir;
use crate::schema::{self, Context};
use crate::syntax::ast;

impl Lowerer<'_> {
    pub(super) fn check_transport(
        &mut self,
        spec: &'static schema::DriverSpec,
        call: &ast::Call,
        option_args: &[ast::Call],
        options: &[ir::OptionValue],
    ) {
        if !matches!(spec.context, Context::Source | Context::Destination)
            || !matches!(spec.name, "network" | "syslog" | "tcp" | "tcp6" | "udp" | "udp6")
        {
            return;
        }
        let transport = options.iter().rev().find(|o| o.name == "transport").and_then(|o| match &o.value {
            ir::Value::Str(s) => Some(s.as_str()),
            _ => None,
        });
        let has_tls = options.iter().any(|o| o.name == "tls");
        let source = spec.context == Context::Source;
        let (message, option) =
            match crate::transport::resolve(spec.name, source, transport, has_tls, self.version_at_least_4()) {
                Err(message) => (message, "transport"),
                // A datagram has no connection to renew.
                Ok(t) if t.datagram && options.iter().any(|o| o.name == "max-connection-lifetime") => (
                    format!("max-connection-lifetime() needs a connection; `{}()` sends over UDP here", spec.name),
                    "max-connection-lifetime",
                ),
                Ok(_) => return,
            };
        let at = option_args
            .iter()
            .rev()
            .find(|c| schema::same_name(c.name.value, option))
            .map_or(call.name.span.clone(), |c| c.span.clone());
        let d = self.error_at(codes::INVALID_VALUE, message, at, "not usable here");
        self.push(d);
    }
}
