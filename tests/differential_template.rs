//! Template evaluation: rsng-core formats messages the way syslog-ng 3.38 does.
//!
//! One syslog-ng runs in the foreground (`TZ=UTC`) with one UDP source (`flags(syslog-protocol)`,
//! so RFC 5424 parses and RFC 3164 falls back) and several file destinations, each with one
//! template and its own `ts-format()`, `frac-digits()`, `time-zone()` or `template-escape()`.
//! Template fields are separated by `\x1f`, records end with `\x1e\n`. The test sends the
//! datagrams, parses the same bytes with rsng-proto, builds `LogMessage`s (source `s_net`, sender
//! `127.0.0.1`, received now, in UTC), formats them with the same templates and compares byte for
//! byte. Templates are written into the configuration as double-quoted strings (`"` and `\`
//! escaped), and rsng compiles them with a filter compiler hook built on `rsng-config`, as the
//! configuration loader will, so that `$(if)`, `$(grep)` and `$(context-lookup)` run real
//! filters.
//!
//! What cannot be compared exactly, and how it is handled:
//! - Receive-time and current-time macros (`$R_*`, `$C_*`), and the stamp of messages without
//!   one (which is the receive time): the `times` destination prints `$R_UNIXTIME`,
//!   `$C_UNIXTIME` and `$R_ISODATE`; these are checked structurally (digits within a few seconds
//!   of rsng's receive time; the ISO form by shape). Messages without a timestamp are not sent.
//! - Stamps without a year are guessed from the current date by both sides; a run across New
//!   Year's Eve midnight could differ.
//! - `$SEQNUM`: syslog-ng's file writer passes a message's `.SDATA.meta.sequenceId` (non-local
//!   messages), which `LogMessage::writer_seq_num` mirrors.
//! - `$(uuid)` is random: the `uuid` destination's values are checked for syslog-ng's shape
//!   (lower-case hex `8-4-4-4-12`, version digit third in the third group, variant `8`..`b`) and
//!   for being different from each other.
//! - Inputs on which syslog-ng reads uninitialised memory or crashes are not sent: an invalid first
//!   address to `$(ipv4-to-int)`, `$(dirname)`/`$(basename)` without arguments, `$(explode)`
//!   with an empty separator.
//! - `template` statements and `template-function`s ([`NAMED_TEMPLATES`], [`USER_FUNCTIONS`]) are
//!   written into the configuration and registered with rsng's `CompileContext` the way the
//!   configuration loader is to do it.
//! - `$(getent)` and `$(dns-resolve-ip)` ask this machine's NSS, as syslog-ng does; DNS is only
//!   asked for `127.0.0.1` (from `/etc/hosts`); the configuration's `use-dns(no)` is handed to
//!   rsng as the compile context's `DnsDefaults`.
//! - Non-ASCII text in the arguments of functions that take options is refused by syslog-ng's
//!   option parser in the C locale, so none is sent there.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use rsng_config::filter_compile::compile_filters;
use rsng_core::filter::Filter;
use rsng_core::message::{LogMessage, ReceiveInfo, UnixTime};
use rsng_core::template::{compile, CompileContext, DnsDefaults, FilterCompiler, FormatOptions, OnError, TsFormat};
use rsng_proto::syslog::{parse, ParseFlags, ParseOptions};
use rsng_tests::{oracle_skipped, RunningOracle, TempDir};

/// A destination: name, extra file() options, the template's fields.
struct Dest {
    name: &'static str,
    options: &'static str,
    fields: &'static [&'static str],
}

const DESTS: &[Dest] = &[
    Dest {
        name: "headers",
        options: "",
        fields: &[
            "$HOST",
            "$FULLHOST",
            "$HOST_FROM",
            "$FULLHOST_FROM",
            "$PROGRAM",
            "$PID",
            "$MSGID",
            "$MESSAGE",
            "$MSG",
            "$MSGONLY",
            "$MSGHDR",
            "$LEGACY_MSGHDR",
            "$SDATA",
            "$FACILITY",
            "$FACILITY_NUM",
            "$SEVERITY",
            "$LEVEL",
            "$PRIORITY",
            "$SEVERITY_NUM",
            "$LEVEL_NUM",
            "$PRI",
            "$TAG",
            "$BSDTAG",
            "$TAGS",
            "$SOURCEIP",
            "$SEQNUM",
            "$SOURCE",
            "${.SDATA.exampleSDID@32473.iut}",
            "${.SDATA.meta.sequenceId}",
            "${.SDATA.timeQuality.isSynced}",
            "${PID:-nopid}",
            "${MSGID:-nomsgid}",
            "${.nope:-dflt}",
            "${SEQNUM:-noseq}",
            "$$HOST $HOST.x",
        ],
    },
    Dest {
        name: "dates",
        options: "",
        fields: &[
            "$DATE",
            "$FULLDATE",
            "$ISODATE",
            "$STAMP",
            "$YEAR",
            "$YEAR_DAY",
            "$MONTH",
            "$MONTH_WEEK",
            "$MONTH_ABBREV",
            "$MONTH_NAME",
            "$DAY",
            "$HOUR",
            "$HOUR12",
            "$MIN",
            "$SEC",
            "$MSEC",
            "$USEC",
            "$AMPM",
            "$WEEKDAY",
            "$WEEK_DAY",
            "$WEEK_DAY_ABBREV",
            "$WEEK_DAY_NAME",
            "$WEEK",
            "$ISOWEEK",
            "$TZOFFSET",
            "$TZ",
            "$UNIXTIME",
            "$S_ISODATE",
            "$S_WEEK_DAY_NAME",
            "$S_UNIXTIME",
        ],
    },
    Dest {
        name: "iso_ny",
        options: "ts-format(iso) frac-digits(3) time-zone(\"America/New_York\")",
        fields: &["$STAMP", "$ISODATE", "$DATE", "$FULLDATE", "$HOUR", "$HOUR12", "$AMPM", "$TZOFFSET", "$UNIXTIME"],
    },
    Dest {
        name: "full",
        options: "ts-format(full) frac-digits(6) time-zone(\"+05:30\")",
        fields: &["$STAMP", "$ISODATE", "$DAY", "$YEAR_DAY", "$TZ"],
    },
    Dest { name: "unix", options: "ts-format(unix) frac-digits(2)", fields: &["$STAMP", "$UNIXTIME", "$DATE"] },
    Dest {
        name: "escaped",
        options: "template-escape(yes)",
        fields: &["$MSG", "$SDATA", "$HOST", "$PROGRAM", "$MSGHDR", "${.nope:-a'b}", "${MSG:-x}", "lit'eral"],
    },
    Dest {
        name: "funcs",
        options: "",
        fields: &[
            "$(echo $HOST $PID)",
            "$(echo)",
            "$(length $MSG)",
            "$(length $HOST $PROGRAM)",
            "$(substr $MSG 2 5)",
            "$(substr $MSG -4)",
            "$(substr $MSG 1 -3)",
            "$(substr $MSG 100)",
            "$(lowercase $HOST $MSG)",
            "$(uppercase $PROGRAM $MSG)",
            "$(strip ' $PROGRAM ' $PID)",
            "$(sanitize $MSG)",
            "$(sanitize --no-ctrl-chars --invalid-chars ae --replacement X $MSG $HOST)",
            "$(replace-delimiter ' ' _ $MSG)",
            "$(padding $PID 8 0)",
            "$(padding $PROGRAM 10)",
            "$(padding $HOST 12 ab)",
            "$(md5 $MSG)",
            "$(sha1 $HOST $PROGRAM)",
            "$(sha256 --length 16 $MSG)",
            "$(sha512 $PID)",
            "$(env HOME)",
            "$(echo $(uppercase $(substr $HOST 0 3)))",
        ],
    },
    Dest { name: "times", options: "", fields: &["$R_UNIXTIME", "$C_UNIXTIME", "$R_ISODATE"] },
    Dest {
        name: "json",
        options: "",
        fields: &[
            "$(format-json --scope nv-pairs)",
            "$(format-json --scope all-nv-pairs)",
            "$(format-json --scope rfc3164)",
            "$(format-json --scope rfc5424)",
            "$(format-json --scope syslog-proto,selected-macros)",
            "$(format-json --scope core --scope sdata)",
            "$(format-json --scope dot-nv-pairs --leave-initial-dot)",
            "$(format-json --scope rfc5424 --exclude DATE --key ISODATE --key FACILITY_NUM)",
            "$(format-json --scope nv-pairs --exclude *HOST* --exclude LEGACY*)",
            "$(format-json --key .SDATA.* --key PRI)",
            "$(format-json --scope none)",
            "$(format-json)",
            "$(format-json a=$PID b=int($PID) c=boolean($PROGRAM) d=literal($PID) e=list($MSG) f=string(x))",
            "$(format-json a=$PID b=int($FACILITY_NUM) c=boolean(Yes) d=literal($PID) e=list($MSG,x) f=string(x))",
            "$(format-json --pair x.y=$HOST --pair x.z=1 x=$PROGRAM .top=1 ..two=2 w.a.b.c=d w.ab=e)",
            "$(format-json --omit-empty-values --scope nv-pairs p=$PID m=$MSGID)",
            "$(format-json --scope rfc5424 --rekey .SDATA.* --shift 7 --add-prefix sd.)",
            "$(format-json --scope nv-pairs --rekey H* --replace-prefix HOST=host --key PROG* --add-prefix p_)",
            "$(format-json --scope sdata --rekey .SDATA.* --shift-levels 2 --add-prefix s.)",
            "$(format-json --scope nv-pairs --key-delimiter / a/b=1 a/c=2 .d.e=3)",
            "$(format-json --scope rfc5424 --subkeys .SDATA.exampleSDID@32473.)",
            "$(format-json msg=$MSG raw=$MSGHDR t=double($PID) n=null(x) i=int64(-12))",
            "$(format-flat-json --scope rfc5424 x.y=1)",
            "$(format-json a=int($MSG) b=1)",
            "$(format-flat-json a=boolean($MSG) b=1)",
        ],
    },
    Dest {
        name: "lists",
        options: "",
        fields: &[
            "$(list-concat $PROGRAM,$PID $MSG '' a,,b)",
            "$(list-append a,b $MSG $HOST '')",
            "$(list-count $MSG)",
            "$(list-count)",
            "$(list-head $MSG)",
            "$(list-nth 1 $MSG x,y)",
            "$(list-nth -1 a,b,c)",
            "$(list-nth 9 a,b)",
            "$(list-tail $MSG)",
            "$(list-slice 1:3 a,b,c,d,e)",
            "$(list-slice -2: a,b,c,d)",
            "$(list-slice :-1 $MSG)",
            "$(list-slice -100: a,b)",
            "$(list-concat 'a b' x $(list-append '' 'it s' q))",
        ],
    },
    Dest {
        name: "json_drop_property",
        options: "on-error(drop-property)",
        fields: &[
            "$(format-json b=int($PID) c=boolean($PROGRAM) e=list($MSG) z=1)",
            "$(format-json a=int($MSG) b=int64($PID) c=double($PID))",
            "$(format-flat-json b=int($PID) c=boolean($PROGRAM) z=1)",
        ],
    },
    Dest {
        name: "json_fallback",
        options: "on-error(silently-fallback-to-string)",
        fields: &["$(format-json b=int($PID) c=boolean($PROGRAM) e=list($MSG) z=1 --scope nv-pairs)"],
    },
    Dest {
        name: "cond",
        options: "",
        fields: &[
            "$(if (program(\"prog\")) \"$MSG\" \"no\")",
            "$(if (program('^su$') or host(\"^my\")) $(uppercase $HOST) $(length $MSG))",
            "$(if (\"$PID\" > \"100\") big small)",
            "$(if (level(err..emerg)) yes no)",
            "$(if (not facility(user)) '' $FACILITY)",
            "$(if (message('é')) unicode ascii)",
            "$(if (message('^$')) empty '')",
            "$(if (\"$(+ $PID 1)\" == \"124\") t f)",
            "$(if (\"$(length $MSG)\" > \"20\" and not program(\"x\")) long short)",
            "$(if (tags(\".source.s_net\")) tagged untagged)",
            "$(if (netmask(\"127.0.0.0/8\")) local remote)",
            "$(if (match(\"^[0-9]+$\" value(\"PID\"))) $PID nopid)",
            "$(echo [$(if (\"$MSGID\" ne \"\") $MSGID -)])",
            "$(grep (program(\"prog\")) $PID $HOST)",
            "$(grep -m 1 (level(notice)) $PROGRAM)",
            "$(grep (\"$PID\" ne \"\") $PID '' x)",
            "$(grep --max-count=0 (facility(local4)) $MSG $SDATA)",
            "$(or $MSGID $PID $HOST)",
            "$(or '' $PID fallback)",
            "$(or)",
            "$(or '' '')",
            "$(context-length)",
            "$(context-values $PID $MSG)",
            "$(context-values)",
            "$(context-lookup (program(\"prog\")) $PID $MSG)",
            "$(context-lookup (level(emerg)) $PID $MSG)",
        ],
    },
    Dest {
        name: "cond_escaped",
        options: "template-escape(yes)",
        fields: &[
            "$(if (program(\"prog\")) $MSG no)",
            "$(grep (level(notice..debug)) $MSG $SDATA)",
            "$(or $MSGID $MSG)",
            "$(context-values $MSG)",
        ],
    },
    Dest {
        name: "numeric",
        options: "",
        fields: &[
            "$(+ $PID 1)",
            "$(- $PID 1000)",
            "$(* $PID -3)",
            "$(/ $PID 7)",
            "$(% $PID 7)",
            "$(/ $PID 0)",
            "$(% $PID 0.0)",
            "$(+ $PID 0.5)",
            "$(/ $PID 3.0)",
            "$(* $PID 1e306)",
            "$(- $FACILITY_NUM $SEVERITY_NUM)",
            "$(+ $MSG 1)",
            "$(+ 9223372036854775807 1)",
            "$(- -9223372036854775808 1)",
            "$(* 4294967296 4294967296)",
            "$(+ 9223372036854775808 0)",
            "$(/ -9223372036854775808 2)",
            "$(+ 0x10 1)",
            "$(+ ' 5' '\t1')",
            "$(+ '5 ' 1)",
            "$(+ '' 1)",
            "$(+ 1)",
            "$(+ 1 2 3)",
            "$(+ nan 1)",
            "$(+ -NaN 1)",
            "$(- inf inf)",
            "$(+ INF 1)",
            "$(- -Infinity 1)",
            "$(+ nan(12) 0)",
            "$(+ 1e308 1e308)",
            "$(+ 1e-310 0)",
            "$(+ 0x1p-1074 0)",
            "$(+ 0x1.8p3 0)",
            "$(+ 1. .5)",
            "$(+ 1e 0)",
            "$(+ 08 010)",
            "$(+ ５ 1)",
            "$(/ 7 1e-20)",
            "$(% 7.5 2)",
            "$(% -7 3)",
            "$(% inf 2)",
            "$(% 5 inf)",
            "$(* -1.0 0)",
            "$(/ 1 3)",
            "$(/ 1 -3.0)",
            "$(* 0.1 3)",
            "$(+ 1e22 1)",
            "$(round 2.5)",
            "$(round -2.5)",
            "$(round 2.345 2)",
            "$(round $PID 3)",
            "$(round 1.005 2)",
            "$(round 1e300 20)",
            "$(round 123456789.987654321 20)",
            "$(round 1 21)",
            "$(round 1 -1)",
            "$(round x)",
            "$(round 1 x)",
            "$(round 1 2 3)",
            "$(round -0.4)",
            "$(round nan)",
            "$(round -inf 2)",
            "$(ceil 1.2)",
            "$(ceil -1.2)",
            "$(ceil 1e30)",
            "$(ceil nan)",
            "$(ceil 9.2e18)",
            "$(floor -1.5)",
            "$(floor abc)",
            "$(floor $PID)",
            "$(floor -9.3e18)",
            "$(floor '')",
            "$(floor 1 2)",
            "$(sum $PID)",
            "$(min $PID)",
            "$(max $HOST)",
            "$(average $PID)",
            "$(sum ' 5')",
            "$(average 99999999999999999999)",
            "$(min -0)",
            "$(max 1.5)",
            "$(substr $MSG '')",
            "$(substr $MSG 99999999999999999999)",
            "$(list-nth '' a,b)",
        ],
    },
    Dest {
        name: "strings",
        options: "",
        fields: &[
            "$(dirname /usr/lib/x.so)",
            "$(dirname $MSG)",
            "$(basename $MSG)",
            "$(dirname x)",
            "$(dirname /)",
            "$(dirname //a)",
            "$(dirname a//b)",
            "$(dirname a/)",
            "$(dirname '')",
            "$(dirname /é/ü)",
            "$(basename '')",
            "$(basename ///)",
            "$(basename a//)",
            "$(basename /a/b/ c)",
            "$(basename /é/ü/)",
            "$(implode ' ' a,b,c)",
            "$(implode : a,,b 'c d',e)",
            "$(implode '' $MSG x)",
            "$(implode x)",
            "$(implode - $(explode ' ' $MSG))",
            "$(implode ', ' '\"x,y\",z')",
            "$(implode é 1,2)",
            "$(explode ' ' $MSG)",
            "$(explode , a,b,)",
            "$(explode ab xabyabz)",
            "$(explode ' ' '')",
            "$(explode ' ' 'x y' 'z w')",
            "$(explode : 'a\"b:c d')",
            "$(explode ' ' ' ')",
            "$(explode é aébéc)",
            "$(explode / $MSG)",
            "$(explode x)",
            "$(ipv4-to-int 1.2.3.4)",
            "$(ipv4-to-int 255.255.255.255 0.0.0.0)",
            "$(ipv4-to-int 10.1 0x7f.1 4294967295)",
            "$(ipv4-to-int $SOURCEIP)",
            "$(ipv4-to-int '1.2.3.4 x' 010.0.0.1)",
            "$(ipv4-to-int)",
            "$(binary 65 0x42 0103)",
            "$(binary 0)",
            "$(binary -1)",
            "$(binary ' 65')",
            "$(binary 0xff 0xc3 0xa9)",
            "$(base64-encode $MSG)",
            "$(base64-encode a b)",
            "$(base64-encode '')",
            "$(base64-encode ab c de)",
            "$(base64-encode $(binary 0 255) é)",
            "$(url-encode $MSG)",
            "$(url-encode 'a b/c?d=é&x~_.-')",
            "$(url-encode a b)",
            "$(url-encode '')",
            "$(url-decode 'a%20b%2Fc')",
            "$(url-decode $MSG)",
            "$(url-decode %zz)",
            "$(url-decode %4)",
            "$(url-decode a%00b)",
            "$(url-decode x %41 y)",
            "$(url-decode a+b)",
            "$(url-decode %c3%a9%ff)",
            "$(url-decode $(url-encode $MSG))",
            "$(hash $MSG)",
            "$(hash --length 7 a b)",
            "$(hash -l 200 x)",
            "$(sha1 '')",
            "$(length $(uuid))",
        ],
    },
    Dest {
        name: "list_search",
        options: "",
        fields: &[
            "$(list-search b a,b,c)",
            "$(list-search b a,b b)",
            "$(list-search --mode prefix fa $MSG x,fail,fa)",
            "$(list-search --mode prefix '' a)",
            "$(list-search --mode substring o $MSG x,o)",
            "$(list-search --mode substring '' x)",
            "$(list-search --mode glob *b* a,abc,b)",
            "$(list-search --mode glob ?? a,abc,bc)",
            "$(list-search --mode pcre [0-9]+ a,b1,22)",
            "$(list-search --mode pcre 'b|x' ab,xb)",
            "$(list-search --start-index 2 a a,b,a,a)",
            "$(list-search --start-index -2 c a,b,c)",
            "$(list-search --start-index 9 a a)",
            "$(list-search --start-index 0x1 a a,a,a)",
            "$(list-search --start-index 010 a a,a,a,a,a,a,a,a,a,a)",
            "$(list-search '' a,,b)",
            "$(list-search a '' a)",
            "$(list-search --mode literal 'c d' a,'c d')",
            "$(list-search nope a,b)",
            "$(list-search $PROGRAM $PROGRAM)",
            "$(list-search '$PROGRAM' a,$$PROGRAM)",
            "$(list-search --mode prefix $$ $$x)",
            "$(list-search --mode glob '*$(echo)*' '$(echo)',x)",
        ],
    },
    Dest {
        name: "vp_lists",
        options: "",
        fields: &[
            "$(values --scope rfc3164)",
            "$(names --scope rfc3164)",
            "$(names --scope rfc5424)",
            "$(names --scope all-nv-pairs)",
            "$(values --scope sdata)",
            "$(names --scope sdata)",
            "$(names a=1 b=$MSG .x=y --exclude b)",
            "$(values a=1 b=$MSG .x=y --exclude b)",
            "$(values --omit-empty-values x=$PID y=z)",
            "$(names --key .SDATA.* --rekey .SDATA.* --shift 7)",
            "$(values x='a,b' y='c d' z='' w=\"q'\")",
            "$(names --scope none)",
            "$(names --rekey * --add-prefix . PROGRAM a=1)",
            "$(values PROGRAM PRI* --exclude PRI)",
            "$(values --no-cast --scope rfc3164 n=int($PID))",
            "$(values)",
        ],
    },
    Dest {
        name: "welf",
        options: "",
        fields: &[
            "$(format-welf --scope rfc3164)",
            "$(format-welf --scope rfc3164 id=1)",
            "$(format-welf id=1 a=2 B=3)",
            "$(format-welf Z=0 id=1 a=2 B=3 j=4 C=5)",
            "$(format-welf --scope rfc5424 --scope nv-pairs)",
            "$(format-welf msg=$MSG x='q\"' .dot=1 e='')",
            "$(format-welf --scope sdata)",
            "$(format-welf --omit-empty-values a=$PID b=x)",
            "$(format-welf --no-cast a=int($PID))",
            "$(format-welf id=1 id=2 a=3)",
            "$(format-welf a=1 id=2 Z=3 id=4 B=5)",
            "$(format-welf PROGRAM HOST i=$MSG)",
            "$(format-welf id=1 b=2 id=3 A=4 c=5 id=6 i=7 j=8 I=9 ia=10 ic=11)",
        ],
    },
    Dest {
        name: "graphite",
        options: "",
        fields: &[
            "$(graphite-output --timestamp x a=1 b=$PROGRAM)",
            "$(graphite-output -t $S_UNIXTIME --scope rfc3164)",
            "$(graphite-output .a=1 --timestamp '$HOST $PID' --scope nv-pairs)",
            "$(graphite-output --timestamp 1 z=9 --timestamp=2 y=8)",
            "$(graphite-output -t t --scope sdata --exclude *.iut)",
            "$(graphite-output -t t --key PROGRAM --rekey PROGRAM --add-prefix app.)",
            "$(graphite-output -t t)",
        ],
    },
    Dest {
        name: "cef",
        options: "",
        fields: &[
            "$(format-cef-extension --scope rfc3164)",
            "$(format-cef-extension a=b=c x=$MSG)",
            "$(format-cef-extension --scope nv-pairs)",
            "$(format-cef-extension a.b=1 c=2)",
            "$(format-cef-extension --scope sdata --rekey .SDATA.* --shift-levels 3)",
            "$(format-cef-extension m=$MSGHDR$MSG)",
            "$(format-cef-extension k='a\tb\x01c\\d=e' e='' u=$(echo x\ny))",
        ],
    },
    Dest {
        name: "cef_drop_property",
        options: "on-error(drop-property)",
        fields: &["$(format-cef-extension a.b=1 c=2)", "$(format-cef-extension --scope nv-pairs)"],
    },
    Dest {
        name: "invoke",
        options: "",
        fields: &[
            "$(template t_plain)",
            "$(template t_esc)",
            "$(template prog)",
            "$(template t_plain ignored $HOST)",
            "$(template ${PROGRAM} no such $PID)",
            "$(template ${PROGRAM})",
            "$(template t_$(echo plain))",
            "$(template $(echo t_esc) x)",
            "$(my_fn)",
            "$(my-fn)",
            "$(uf_esc)",
            "$(uppercase $(my_fn) $(template t_plain))",
        ],
    },
    Dest {
        name: "invoke_escaped",
        options: "template-escape(yes)",
        fields: &["$MSG", "$(template t_plain)", "$(template t_esc)", "$(uf-esc)", "$(template ${PROGRAM} $MSG)"],
    },
    Dest {
        name: "map_filter",
        options: "",
        fields: &[
            "$_|${CONTEXT_ID:-none}",
            "$(map $(uppercase $_) a,b,c)",
            "$(map '$_ x' a,b)",
            "$(map $(+ $_ 1) 1,2,$PID)",
            "$(map $_ $MSG)",
            "$(map x '')",
            "$(map $(map $_$_ $_,x) a,b)",
            "$(map '[$_]' 'p q',\"r's\",,t)",
            "$(filter ('$_' eq 'b') a,b,c)",
            "$(filter ('$_' ne '') $MSG)",
            "$(filter ('$_' > '1') 1,2,3,10)",
            "$(filter ('$_' eq 'p q' or '$_' eq 't') 'p q',\"r's\",,t)",
            "$(filter message('o') a,b)",
            "$(filter (\"$(map $_ $_)\" eq \"x\") x,y)",
            "$(iterate $(+ $_ 1) 0)",
            "$(iterate $_x a)",
            "$(iterate '$(echo $_) ' '')",
        ],
    },
    Dest {
        name: "getent",
        options: "",
        fields: &[
            "$(getent passwd root)",
            "$(getent passwd 0)",
            "$(getent passwd root dir)",
            "$(getent passwd root gecos)",
            "$(getent passwd 0 shell)",
            "$(getent passwd root gid)",
            "$(getent passwd nosuchuser)",
            "$(getent passwd root bogus)",
            "$(getent group adm)",
            "$(getent group 4)",
            "$(getent group 4 members)",
            "$(getent group root members)",
            "$(getent group ssl-cert members)",
            "$(getent group $PID)",
            "$(getent services ssh)",
            "$(getent services 22)",
            "$(getent services 65535)",
            "$(getent services 65558)",
            "$(getent services $PID)",
            "$(getent protocols tcp)",
            "$(getent protocols 17)",
            "$(getent protocols nope)",
            "$(getent bogus x)",
            "$(getent passwd)",
            "$(getent passwd root uid extra)",
            "$(getent passwd -0)",
        ],
    },
    Dest {
        name: "dns",
        options: "",
        fields: &[
            "$(dns-resolve-ip --use-dns yes 127.0.0.1)",
            "$(dns-resolve-ip --use-dns=yes --use-fqdn yes 127.0.0.1)",
            "$(dns-resolve-ip -d 1 --normalize-hostnames yes 127.1)",
            "$(dns-resolve-ip --use-dns no 127.0.0.1)",
            "$(dns-resolve-ip --use-dns no 0x7f.1)",
            "$(dns-resolve-ip --use-dns no 10)",
            "$(dns-resolve-ip --use-dns no ::FFFF:1.2.3.4)",
            "$(dns-resolve-ip --use-dns no 2001:DB8:0:0:0:0:0:1)",
            "$(dns-resolve-ip --use-dns no --normalize-hostnames yes FE80::A)",
            "$(dns-resolve-ip --use-dns no ::1.2.3.4)",
            "$(dns-resolve-ip --use-dns no not-an-ip)",
            "$(dns-resolve-ip --use-dns no $HOST)",
            "$(dns-resolve-ip --use-dns no '')",
            "$(dns-resolve-ip 127.0.0.1)",
            "$(dns-resolve-ip --use-fqdn yes --normalize-hostnames yes 127.0.0.1)",
        ],
    },
    Dest { name: "uuid", options: "", fields: &["$(uuid)", "$(uuid)"] },
];

/// `template` statements (name, text, `template-escape()`), in definition order.
const NAMED_TEMPLATES: &[(&str, &str, bool)] = &[
    ("t_plain", "<$PROGRAM:$MSG>", false),
    ("t_esc", "[$MSG|$(echo $MSG)]", true),
    // the program name of most test messages, for dynamic binding
    ("prog", "P:$PID:$(template t_plain)", false),
];

/// `template-function` statements (name, text).
const USER_FUNCTIONS: &[(&str, &str)] = &[("my_fn", "fn:$HOST-$PID"), ("uf-esc", "$MSG$(my-fn)")];

fn messages() -> Vec<&'static [u8]> {
    vec![
        b"<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8",
        b"<13>Feb  5 17:32:18 host prog: hello world\n",
        b"<165>Aug 24 05:34:00 myhost myprog[9999]: trailing nuls\0\0",
        b"<0>Jan  1 00:00:00 h kernel: boot",
        b"<191>Dec 31 23:59:59 h p: last of the year",
        b"<999>Jan 12 13:14:15 host prog: pri 999",
        b"<13>Jan  2 10:11:12 host prog: caf\xc3\xa9 \xc3\x84 utf8",
        b"<13>Jan  2 10:11:12 prog[42]: missing hostname with pid",
        b"<13>Jan  2 10:11:12.123456789 host prog: fraction",
        b"<13>2024-03-04T05:06:07Z host prog: iso utc",
        b"<13>2024-03-04T05:06:07.5+02:30 host prog: iso offset",
        b"<13>2024-03-04 05:06:07 host prog: iso space no zone",
        b"<13>2024-07-14T12:00:00-04:00 host prog: noon in summer",
        b"<13>2021-01-01T00:30:00Z host prog: iso week 53",
        b"<13>2024-12-30T23:59:59.999999Z host prog: iso week 1 of next year",
        b"<13>2024-02-29T06:07:08Z host prog: leap day",
        b"<13>Mar 04 2024 05:06:07: host prog: cisco pix",
        b"<13>Mar 04 05:06:07 2024 host prog: linksys",
        b"<13>123: *Mar  4 05:06:07 host prog: cisco seq unsynced",
        b"<13>45: .Mar  4 05:06:07.25: host prog: cisco seq synced",
        b"<13>Jan  2 10:11:12 host prog[]: empty pid",
        b"<13>Jan  2 10:11:12 host prog:no space",
        b"<13>Jan  2 10:11:12 host prog no colon",
        b"<13>Jan  2 10:11:12 host : no program",
        b"<13>Jan  2 10:11:12 host prog: ",
        b"<13>Jan  2 10:11:12 host prog: quote\" apos' back\\slash tab\tctrl\x01 end",
        b"<13>Jan  2 10:11:12 host prog: multi\nline",
        b"<13>Jan  2 10:11:12 host prog: a/b/c path and x=y",
        b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \xEF\xBB\xBFAn application event log entry...",
        b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
        b"<13>1 2024-01-02T03:04:05+01:00 host app 1234 MSGID1 [ex@32473 k=\"v\" k2=\"v2\"] hello world\n",
        b"<13>1 2024-01-02T03:04:05Z host app - - [a x=\"q\\\"uote\" y=\"back\\\\slash\" z=\"br\\]acket\" w=\"other\\q\"] escapes",
        b"<13>1 2024-01-02T03:04:05Z host app - - [a@1 x=\"1\"][b@2 y=\"2\"][c@3] three elements",
        b"<13>1 2024-01-02T03:04:05Z host app - - [meta sequenceId=\"77\" x=\"y\"][z a=\"b\"] own meta",
        b"<13>1 2024-01-02T03:04:05Z host app - - [a x=\"\"] empty value",
        b"<13>1 2024-01-02T03:04:05.123456789Z host app - - - long fraction",
        b"<13>1 2024-01-02T03:04:05Z  app - - - empty host",
        b"<86>1 2024-11-05T14:30:00.250+05:45 web01 nginx 77 REQ - GET /index.html",
        b"<11>1 2024-06-30T23:00:00-09:30 h a - - - half-hour zone",
        b"<13>1 2024-03-10T07:30:00Z h a - - - US DST switch day",
        b"<13>Jan  2 10:11:12 host prog[-17]: negative pid",
        b"<13>Jan  2 10:11:12 host prog[99999999999999999999]: huge pid",
        b"<13>Jan  2 10:11:12 host prog[1.5e3]: fractional pid",
        b"<13>Jan  2 10:11:12 host prog[0x1f]: hex pid",
        b"<13>Jan  2 10:11:12 host prog[\xd9\xa1\xd9\xa2]: arabic digits",
        b"<13>Jan  2 10:11:12 host prog: 100%25 done%zz and %",
        b"<13>Jan  2 10:11:12 host prog: /var/log/messages",
        b"<13>Jan  2 10:11:12 host prog: a,b,,\"c,d\",'e f'",
    ]
}

fn template_text(fields: &[&str], sep: &str, end: &str) -> String {
    let mut text = fields.join(sep);
    text.push_str(end);
    text
}

/// `text` as the body of a double-quoted configuration string.
fn config_string(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The filter compiler hook a configuration loader supplies: the expression is compiled as the
/// body of a `filter` statement of its own.
fn filter_compiler() -> Arc<FilterCompiler> {
    Arc::new(|expr: &str| -> Result<Filter, String> {
        let text = format!("@version: 3.38\nfilter f {{ {expr}; }};\n");
        let loaded = rsng_config::load_text("filter.conf", &text, &rsng_config::LoadOptions::default())
            .map_err(|e| format!("{e:?}"))?;
        let filters = compile_filters(&loaded.config).map_err(|e| e.to_string())?;
        filters.get("f").map(|f| (**f).clone()).ok_or_else(|| "no filter".to_string())
    })
}

fn config(dir: &Path, port: u16) -> String {
    let mut conf =
        String::from("@version: 3.38\noptions { keep-hostname(yes); use-dns(no); dns-cache(no); stats-freq(0); };\n");
    let _ = writeln!(
        conf,
        "source s_net {{ network(transport(\"udp\") ip(127.0.0.1) port({port}) flags(syslog-protocol)); }};"
    );
    for &(name, body, escape) in NAMED_TEMPLATES {
        let escape = if escape { "yes" } else { "no" };
        let _ =
            writeln!(conf, "template {name} {{ template(\"{}\"); template-escape({escape}); }};", config_string(body));
    }
    for &(name, body) in USER_FUNCTIONS {
        let _ = writeln!(conf, "template-function {name} \"{}\";", config_string(body));
    }
    for d in DESTS {
        let out = dir.join(format!("{}.out", d.name));
        let fields: Vec<String> = d.fields.iter().map(|f| config_string(f)).collect();
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        let _ = writeln!(
            conf,
            "destination d_{} {{ file(\"{}\" template(\"{}\") {}); }};\nlog {{ source(s_net); destination(d_{}); }};",
            d.name,
            out.display(),
            template_text(&fields, "\\x1f", "\\x1e\\n"),
            d.options,
            d.name
        );
    }
    conf
}

fn read_records(path: &Path) -> Vec<Vec<u8>> {
    let data = fs::read(path).unwrap_or_default();
    let mut records: Vec<Vec<u8>> = data.split(|&b| b == 0x1e).map(<[u8]>::to_vec).collect();
    records.pop();
    records.into_iter().map(|r| r.strip_prefix(b"\n").map(<[u8]>::to_vec).unwrap_or(r)).collect()
}

fn options_of(d: &Dest) -> FormatOptions {
    let mut opts = FormatOptions::default();
    for part in d.options.split(") ").filter(|p| !p.is_empty()) {
        let (key, value) = part.trim_end_matches(')').split_once('(').expect("option(value)");
        let value = value.trim_matches('"');
        match key {
            "ts-format" => opts.ts_format = TsFormat::from_name(value).expect("ts-format"),
            "frac-digits" => opts.frac_digits = value.parse().expect("frac-digits"),
            "time-zone" => {
                opts.time_zone = Some(match value.strip_prefix('+') {
                    Some(hm) => {
                        let (h, m) = hm.split_once(':').expect("+hh:mm");
                        let secs = h.parse::<i32>().expect("hh") * 3600 + m.parse::<i32>().expect("mm") * 60;
                        jiff::tz::TimeZone::fixed(jiff::tz::Offset::from_seconds(secs).expect("offset"))
                    }
                    None => jiff::tz::TimeZone::get(value).expect("zone"),
                })
            }
            "template-escape" => opts.escape = value == "yes",
            "on-error" => opts.on_error = OnError::from_name(value).expect("on-error"),
            other => panic!("unknown option {other}"),
        }
    }
    opts
}

fn diff(fields: &[&str], ours: &[u8], theirs: &[u8]) -> String {
    let a: Vec<&[u8]> = ours.split(|&b| b == 0x1f).collect();
    let b: Vec<&[u8]> = theirs.split(|&b| b == 0x1f).collect();
    let mut text = String::new();
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i).copied().unwrap_or(b"<missing>"), b.get(i).copied().unwrap_or(b"<missing>"));
        if x != y {
            let _ = writeln!(
                text,
                "    {}: rsng {:?} / syslog-ng {:?}",
                fields.get(i).copied().unwrap_or("?"),
                String::from_utf8_lossy(x),
                String::from_utf8_lossy(y)
            );
        }
    }
    text
}

/// Checks the `uuid` record: two random UUIDs shaped as syslog-ng prints them on a little-endian
/// host (the version digit is the third of the third group), different from each other.
fn check_uuids(record: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(record);
    let fields: Vec<&str> = text.split('\x1f').collect();
    let shape = |u: &str| {
        let groups: Vec<&str> = u.split('-').collect();
        groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
            && u.bytes().all(|c| c == b'-' || c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
            && groups[2].as_bytes()[2] == b'4'
            && matches!(groups[3].as_bytes()[0], b'8'..=b'9' | b'a'..=b'b')
    };
    match fields.as_slice() {
        [a, b] if shape(a) && shape(b) && a != b => Ok(()),
        _ => Err(format!("bad uuid record {text:?}")),
    }
}

/// Checks the `times` record: receive and current time near `received`.
fn check_times(record: &[u8], received: i64) -> Result<(), String> {
    let text = String::from_utf8_lossy(record);
    let fields: Vec<&str> = text.split('\x1f').collect();
    let [r_unix, c_unix, r_iso] = fields.as_slice() else { return Err(format!("bad times record {text:?}")) };
    for t in [r_unix, c_unix] {
        let secs: i64 = t.parse().map_err(|_| format!("not a unix time: {t:?}"))?;
        if (secs - received).abs() > 5 {
            return Err(format!("time {secs} is not near {received}"));
        }
    }
    let shape: String = r_iso.chars().map(|c| if c.is_ascii_digit() { '9' } else { c }).collect();
    if shape != "9999-99-99T99:99:99+99:99" || !r_iso.ends_with("+00:00") {
        return Err(format!("R_ISODATE {r_iso:?} has the wrong shape"));
    }
    Ok(())
}

#[test]
fn templates_match_syslog_ng() {
    if oracle_skipped() {
        return;
    }
    let started = Instant::now();
    let dir = TempDir::new("template").expect("temp dir");
    let messages = messages();
    let (oracle, ports, _) = RunningOracle::start_udp(dir.path(), 1, |ports| config(dir.path(), ports[0]));
    let port = ports[0];
    let received = UnixTime::now(&jiff::tz::TimeZone::UTC);
    oracle.send_udp(&[port], &messages);
    oracle.wait_for(10, || {
        DESTS.iter().all(|d| read_records(&dir.path().join(format!("{}.out", d.name))).len() >= messages.len())
    });
    drop(oracle);

    let mut flags = ParseFlags::default();
    assert!(flags.apply("syslog-protocol"));
    let parse_options = ParseOptions::with_flags(flags);
    let mut info = ReceiveInfo::new("s_net", "127.0.0.1", "127.0.0.1".parse().ok(), jiff::tz::TimeZone::UTC);
    info.received = received;
    let parsed: Vec<LogMessage> = messages
        .iter()
        .map(|m| {
            let raw: Arc<[u8]> = Arc::from(*m);
            let p = parse(&raw, &parse_options).unwrap_or_else(|e| panic!("{:?} does not parse: {e:?}", m));
            LogMessage::from_parsed(raw.clone(), &p, &info)
        })
        .collect();

    let mut ctx = CompileContext::new();
    ctx.set_filter_compiler(filter_compiler());
    // the configuration's `use-dns(no)`
    ctx.set_dns_defaults(DnsDefaults { use_dns: false, use_fqdn: false, normalize_hostnames: false });
    for &(name, body, escape) in NAMED_TEMPLATES {
        let compiled = compile(body, &ctx).expect("named template compiles");
        ctx.add_compiled_template(name, Arc::new(compiled), escape);
    }
    for &(name, body) in USER_FUNCTIONS {
        let compiled = compile(body, &ctx).expect("user function compiles");
        ctx.add_user_function_body(name, Arc::new(compiled));
    }
    let mut mine = Vec::new();
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut out = Vec::new();
    for d in DESTS {
        let records = read_records(&dir.path().join(format!("{}.out", d.name)));
        assert_eq!(records.len(), messages.len(), "destination {}: syslog-ng wrote {} records", d.name, records.len());
        let template = compile(&template_text(d.fields, "\x1f", ""), &ctx).expect("compiles");
        let mut opts = options_of(d);
        for (i, (msg, theirs)) in parsed.iter().zip(&records).enumerate() {
            compared += 1;
            if d.name == "times" {
                if let Err(e) = check_times(theirs, received.sec) {
                    failures.push(format!("destination times, input {:?}: {e}", String::from_utf8_lossy(messages[i])));
                }
                continue;
            }
            if d.name == "uuid" {
                if let Err(e) = check_uuids(theirs.strip_suffix(b"\n").unwrap_or(theirs)) {
                    failures.push(format!("destination uuid (syslog-ng): {e}"));
                }
                mine.clear();
                template.format(msg, &opts, &mut mine).expect("formats");
                if let Err(e) = check_uuids(&mine) {
                    failures.push(format!("destination uuid (rsng): {e}"));
                }
                continue;
            }
            opts.seq_num = msg.writer_seq_num(i as u32 + 1);
            out.clear();
            template.format(msg, &opts, &mut out).expect("formats");
            assert!(out.len() >= d.fields.len() - 1, "destination {}: suspiciously short output", d.name);
            let theirs = theirs.strip_suffix(b"\n").unwrap_or(theirs);
            if out != theirs {
                failures.push(format!(
                    "destination {}, input {:?}:\n{}",
                    d.name,
                    String::from_utf8_lossy(messages[i]),
                    diff(d.fields, &out, theirs)
                ));
            }
        }
    }
    eprintln!(
        "differential_template: {} messages x {} destinations = {compared} records compared, {} differ ({:.1?})",
        messages.len(),
        DESTS.len(),
        failures.len(),
        started.elapsed()
    );
    assert!(failures.is_empty(), "{} of {compared} records differ:\n{}", failures.len(), failures.join("\n"));
}
