//! Progress on a terminal (issue 15.5): a file counter while the tree is scanned and a spinner
//! naming the phase (planning, proving, writing, committing) of `check`, `verify` and `apply`.
//! Drawn on stderr only when stderr is a terminal and `-q` is not given, so stdout and every
//! piped or CI output are the same with and without it.

use std::io::IsTerminal;
use std::time::Duration;

/// Where progress goes: a terminal's stderr, or nowhere.
#[derive(Debug, Clone)]
pub struct Progress {
    shown: bool,
    spinner: indicatif::ProgressBar,
}

impl Default for Progress {
    fn default() -> Progress {
        Progress::hidden()
    }
}

impl Progress {
    /// Nothing is drawn (tests, pipes, `-q`).
    pub fn hidden() -> Progress {
        Progress {
            shown: false,
            spinner: indicatif::ProgressBar::hidden(),
        }
    }

    /// Drawn on stderr when it is a terminal, unless `quiet`.
    pub fn on_stderr(quiet: bool) -> Progress {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress::hidden();
        }
        // Cleared when dropped too: an error printed after it starts on a clean line.
        let spinner =
            indicatif::ProgressBar::new_spinner().with_finish(indicatif::ProgressFinish::AndClear);
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            spinner.set_style(style);
        }
        Progress {
            shown: true,
            spinner,
        }
    }

    /// A counter of the files scanned (its length is set by the scan).
    pub fn files(&self) -> indicatif::ProgressBar {
        if !self.shown {
            return indicatif::ProgressBar::hidden();
        }
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} scanning {pos}/{len} files")
        {
            bar.set_style(style);
        }
        bar
    }

    /// Names the phase now running; the spinner turns while it runs.
    pub fn phase(&self, what: impl Into<String>) {
        if self.shown {
            self.spinner.set_message(what.into());
            self.spinner.enable_steady_tick(Duration::from_millis(120));
        }
    }

    /// Runs `f` with the line cleared (a prompt on the terminal), then draws it again: the
    /// phases after it still show.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.spinner.suspend(f)
    }

    /// Clears the line: what follows on stderr starts at its beginning.
    pub fn done(&self) {
        if self.shown {
            self.spinner.finish_and_clear();
        }
    }
}
