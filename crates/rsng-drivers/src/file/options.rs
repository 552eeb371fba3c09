//! The typed options of the file family (`file()`, `wildcard-file()`, `stdin()`, `pipe()`,
//! `program()`, `usertty()`), in syslog-ng 3.38's groups, with its defaults. [`super::check`]
//! builds each driver's list of allowed options from these groups.

use rsng_config::ir::Value;

/// syslog-ng's `time-reopen()` default: seconds.
const TIME_REOPEN: i64 = 60;

crate::typed_options! {
    /// `source_option`, `msg_format_option` and `source_reader_option` of syslog-ng that the
    /// readers of this module run, besides [`crate::receive::ReaderOptions`].
    pub struct SourceReaderOptions {
        driver {
            /// Messages in the pipeline at most; also bounds a read batch.
            pub log_iw_size: usize = "log-iw-size" if (|&n| n > 0);
            pub log_fetch_limit: usize = "log-fetch-limit" if (|&n| n > 0);
            /// `syslog` or `linux-kmsg` ([`super::check`] refuses others).
            pub format: String = "format";
            /// UTF-8 only ([`super::check`] refuses others).
            pub encoding: String = "encoding";
            /// The persist-file key of a followed file's position.
            pub persist_name: String = "persist-name";
        }
        inherited {}
        global {}
    }
}

crate::typed_options! {
    /// How lines become messages: `multi-line-*()` and fixed-size records (`pad-size()`).
    pub struct RecordOptions {
        driver {
            pub multi_line_mode: String = "multi-line-mode";
            /// Regular expressions (PCRE).
            pub multi_line_prefix: String = "multi-line-prefix";
            pub multi_line_garbage: String = "multi-line-garbage";
            /// Bytes per record; 0: lines.
            pub pad_size: usize = "pad-size" or (0);
        }
        inherited {}
        global {}
    }
}

crate::typed_options! {
    /// Following a regular file.
    pub struct FollowOptions {
        driver {
            /// Seconds between checks, fractions allowed.
            pub follow_freq: Value = "follow-freq";
            /// Seconds after which a pending multi-line message is sent.
            pub multi_line_timeout: i64 = "multi-line-timeout" if (|&n| n > 0);
        }
        inherited {}
        global {}
    }
}

crate::typed_options! {
    /// `wildcard-file()`'s directory and pattern.
    pub struct WildcardOptions {
        driver {
            pub base_dir: String = "base-dir";
            pub filename_pattern: String = "filename-pattern";
            pub recursive: bool = "recursive" or (false);
            pub max_files: usize = "max-files" if (|&n| n > 0);
        }
        inherited {}
        global {}
    }
}

crate::typed_options! {
    /// `pipe()` sources.
    pub struct PipeSourceOptions {
        driver {
            /// A pipe that cannot be opened is reported and skipped instead of stopping start-up.
            pub optional: bool = "optional" or (false);
        }
        inherited {
            pub create_dirs: bool = "create-dirs" or (false);
        }
        global {}
    }
}

crate::typed_options! {
    /// `program()` sources and destinations.
    pub struct ProgramOptions {
        driver {
            pub inherit_environment: bool = "inherit-environment" or (true);
        }
        inherited {}
        global {}
    }
}

crate::typed_options! {
    /// `program()` destinations.
    pub struct ProgramDestinationOptions {
        driver {
            /// Keeps the program running across a reload.
            pub keep_alive: bool = "keep-alive" or (false);
            /// Names the program in the persist file instead of its command line.
            pub persist_name: String = "persist-name";
        }
        inherited {}
        global {}
    }
}

crate::typed_options! {
    /// What every file-family driver that reopens reads.
    pub struct ReopenOptions {
        driver {}
        inherited {
            /// Seconds before opening again after an error.
            pub time_reopen: i64 = "time-reopen" if (|&n| n > 0) or (TIME_REOPEN);
        }
        global {}
    }
}

crate::typed_options! {
    /// `dest_writer_option` and `dest_driver_option` of syslog-ng that the file and pipe
    /// writers run themselves (the queue's options are the runtime's).
    pub struct FileWriterOptions {
        driver {
            /// `flush-lines()`, or its old names `sync()` and `sync-freq()`.
            pub flush_lines: i64 = "flush-lines";
            pub sync: i64 = "sync";
            pub sync_freq: i64 = "sync-freq";
        }
        inherited {
            /// Messages waiting to be written at most.
            pub log_fifo_size: usize = "log-fifo-size" if (|&n| n > 0);
        }
        global {
            /// `sync()` and `sync-freq()` are its obsolete names.
            pub global_flush_lines: i64 = "flush-lines";
            pub global_sync: i64 = "sync";
            pub global_sync_freq: i64 = "sync-freq";
        }
    }
}

crate::typed_options! {
    /// `throttle()` of a destination driver.
    pub struct ThrottleOptions {
        driver {
            /// Messages a second at most; 0: no limit.
            pub throttle: i64 = "throttle" if (|&n| n > 0) or (0);
        }
        inherited {}
        global {}
    }
}

crate::typed_options! {
    /// `file()` destinations.
    pub struct FileDestinationOptions {
        driver {
            /// Seconds an idle file of a templated name stays open.
            pub time_reap: i64 = "time-reap";
            /// Seconds; `remove-if-older()` is its old name.
            pub overwrite_if_older: i64 = "overwrite-if-older";
            pub remove_if_older: i64 = "remove-if-older";
            pub symlink_as: String = "symlink-as";
            pub fsync: bool = "fsync" or (false);
        }
        inherited {
            pub create_dirs: bool = "create-dirs" or (false);
        }
        global {
            /// Only for templated file names.
            pub global_time_reap: i64 = "time-reap";
        }
    }
}

crate::typed_options! {
    /// The permissions a driver sets itself (file sources change only these).
    pub struct PermOptions {
        driver {
            pub owner: Value = "owner";
            pub group: Value = "group";
            pub perm: Value = "perm";
            pub dir_owner: Value = "dir-owner";
            pub dir_group: Value = "dir-group";
            pub dir_perm: Value = "dir-perm";
        }
        inherited {}
        global {}
    }
}

crate::typed_options! {
    /// The global permissions, which destinations and `pipe()` fall back on.
    pub struct GlobalPermOptions {
        driver {}
        inherited {}
        global {
            pub owner: Value = "owner";
            pub group: Value = "group";
            pub perm: Value = "perm";
            pub dir_owner: Value = "dir-owner";
            pub dir_group: Value = "dir-group";
            pub dir_perm: Value = "dir-perm";
        }
    }
}
