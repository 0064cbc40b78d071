//! The verbs climate users know from CDO (`tessera timmean in.nc out.nc`): each is a fixed
//! `tessera reduce` (a NaN-aware reduction over time, per group of days, or over longitude)
//! with the options every reducing command shares. The table [`VERBS`] makes the
//! subcommands, their help and their runs.
//!
//! The numbers are NumPy's: NaN values are skipped (NumPy's `nanmean` and friends), a
//! group of no value that is not NaN gives NaN, except for a sum, which is 0 there
//! (`nansum`; CDO gives a missing value). Standard deviations divide by n (ddof 0), as CDO's
//! `timstd`, `ydaystd` and `ymonstd` do.

use clap::{ArgMatches, Args, Command, FromArgMatches, Subcommand};
use tessera::Reduction;
use tessera::calendar::GroupBy;

use crate::Failure;
use crate::args::{Io, RunOptions};
use crate::reduce::{Compute, Job};

/// What a verb computes: every reduction NaN-aware, by NumPy's name.
#[derive(Debug, Clone, Copy)]
pub enum What {
    /// The reduction over time (axis 0), all of it.
    Time(&'static str),
    /// The reduction over time per group of days.
    Group(&'static str, GroupBy),
    /// Each value minus the reduction of its group of days.
    Anomaly(&'static str, GroupBy),
    /// The reduction over the last axis (longitude), the files joined along time.
    Zonal(&'static str),
    /// The area-weighted NaN-mean over the last two axes (latitude, longitude).
    Field,
}

/// A CDO-named verb.
#[derive(Debug)]
pub struct Verb {
    /// Its name, CDO's.
    pub name: &'static str,
    /// What it computes.
    pub what: What,
    /// One line for the list of commands.
    pub about: &'static str,
    /// The paragraph of its `--help`.
    pub long: &'static str,
    /// The output of its example, less its extension (`tessera VERB 'sst.*.zarr' EXAMPLE.nc`).
    pub example: &'static str,
}

use GroupBy::{DayOfYear, Month, Year, YearMonth};
use What::{Anomaly, Field, Group, Time, Zonal};

const fn verb(
    name: &'static str,
    what: What,
    about: &'static str,
    long: &'static str,
    example: &'static str,
) -> Verb {
    Verb { name, what, about, long, example }
}

const YDAY: &str = "Groups the days by day of the year as xarray's time.dayofyear counts them: the 1st of \
    January is day 1 and, in a leap year, the 29th of February day 60, every later day shifting by one \
    (the 31st of December of a leap year, day 366, is a group of the leap years alone); one field per \
    day present, 366 with a leap year. CDO groups by calendar date instead (the 1st of March of every \
    year together, the 29th of February alone), so the two differ after February in leap years. The \
    dates are each file's time coordinate, or the year in its name, or --start.";
const YMON: &str = "Groups the days by month: 12 groups, January first, whatever the years. The dates are \
                    each file's time coordinate, or the year in its name, or --start.";
const NAN: &str = "NaN values are skipped; where a cell has no other value, the result is NaN.";

/// Every verb, in the order of the list of commands.
pub const VERBS: &[Verb] = &[
    verb(
        "timmean",
        Time("nanmean"),
        "Mean over time",
        "The mean over the whole time axis (axis 0) of every cell, the files joined in time: NumPy's \
            nanmean(x, axis=0).",
        "mean",
    ),
    verb(
        "timsum",
        Time("nansum"),
        "Sum over time",
        "The sum over the whole time axis (axis 0) of every cell: NumPy's nansum(x, axis=0). NaN values \
            count as 0, so a cell that is NaN at every time step (land) sums to 0, not to a missing value as \
            in CDO.",
        "sum",
    ),
    verb(
        "timmin",
        Time("nanmin"),
        "Minimum over time",
        "The minimum over the whole time axis (axis 0) of every cell: NumPy's nanmin(x, axis=0).",
        "min",
    ),
    verb(
        "timmax",
        Time("nanmax"),
        "Maximum over time",
        "The maximum over the whole time axis (axis 0) of every cell: NumPy's nanmax(x, axis=0).",
        "max",
    ),
    verb(
        "timstd",
        Time("nanstd"),
        "Standard deviation over time (ddof 0)",
        "The population standard deviation over the whole time axis (axis 0) of every cell, dividing by n as \
            CDO's timstd does (not n - 1: that is CDO's timstd1): NumPy's nanstd(x, axis=0, ddof=0).",
        "std",
    ),
    verb(
        "ydaymean",
        Group("nanmean", DayOfYear),
        "Mean per day of the year (daily climatology)",
        "The mean of each day of the year over the years: a daily climatology.",
        "clim",
    ),
    verb(
        "ydaystd",
        Group("nanstd", DayOfYear),
        "Standard deviation per day of the year (ddof 0)",
        "The population standard deviation (ddof 0, as CDO's ydaystd) of each day of the year over the \
            years.",
        "clim_std",
    ),
    verb(
        "ydaymin",
        Group("nanmin", DayOfYear),
        "Minimum per day of the year",
        "The minimum of each day of the year over the years.",
        "clim_min",
    ),
    verb(
        "ydaymax",
        Group("nanmax", DayOfYear),
        "Maximum per day of the year",
        "The maximum of each day of the year over the years.",
        "clim_max",
    ),
    verb(
        "ymonmean",
        Group("nanmean", Month),
        "Mean per month of the year (monthly climatology)",
        "The mean of each month of the year over all its days of all the years: a monthly climatology, 12 \
            fields.",
        "clim_mon",
    ),
    verb(
        "ymonstd",
        Group("nanstd", Month),
        "Standard deviation per month of the year (ddof 0)",
        "The population standard deviation (ddof 0, as CDO's ymonstd) of each month of the year over all its \
            days of all the years, 12 fields.",
        "clim_mon_std",
    ),
    verb(
        "ymonmin",
        Group("nanmin", Month),
        "Minimum per month of the year",
        "The minimum of each month of the year over all its days of all the years, 12 fields.",
        "clim_mon_min",
    ),
    verb(
        "ymonmax",
        Group("nanmax", Month),
        "Maximum per month of the year",
        "The maximum of each month of the year over all its days of all the years, 12 fields.",
        "clim_mon_max",
    ),
    verb(
        "monmean",
        Group("nanmean", YearMonth),
        "Monthly means of the series",
        "The mean of each calendar month of each year: the series resampled to months (xarray's \
            resample(time=\"MS\").mean()), one field per month of the record, in time order (group labels \
            year * 12 + month - 1). The dates are each file's time coordinate, or the year in its name, or \
            --start.",
        "monthly",
    ),
    verb(
        "yearmean",
        Group("nanmean", Year),
        "Yearly means of the series",
        "The mean of each year: the series resampled to years, one field per year of the record, in time \
            order. The dates are each file's time coordinate, or the year in its name, or --start.",
        "yearly",
    ),
    verb(
        "ydayanomaly",
        Anomaly("nanmean", DayOfYear),
        "Anomalies from the daily climatology",
        "Each value minus the mean of its day of the year over the years (ydaymean): the daily anomalies, \
            shaped like the joined inputs. One run computes both in one graph (tessera's groupby_anomalies): \
            no climatology file in between.",
        "anomalies",
    ),
    verb(
        "zonmean",
        Zonal("nanmean"),
        "Zonal mean (over longitude)",
        "The mean over the last axis (longitude) of every time step and latitude, the files joined in time: \
            NumPy's nanmean(x, axis=-1), one value per time and latitude.",
        "zonal",
    ),
    verb(
        "fldmean",
        Field,
        "Area-weighted field mean",
        "The weighted mean of every time step over latitude and longitude (the last two axes), sum(w * x) / \
            sum(w) over the cells that are not NaN (land, missing): CDO's fldmean. The weights w are the cell \
            areas that the variable's CF cell_measures attribute names (\"area: areacello\"), when the first \
            input is a netCDF file that holds that variable, as CDO takes them (a cell whose area is missing \
            is left out); otherwise each row's cosine of latitude (the file's 'lat' or 'latitude' coordinate, \
            in degrees), proportional to the areas CDO computes on a regular, evenly spaced grid. Like CDO, a \
            variable named cell_area or areacello that no cell_measures names is not used; areas kept in \
            another file (the global attribute external_variables) are not looked for, and a note on stderr \
            says cos(latitude) is used instead. With --lonlatbox, the region's weights. One value per time \
            step.",
        "fldmean",
    ),
];

impl Verb {
    /// The paragraph of its `--help`, with what groups the days.
    fn long_about(&self) -> String {
        let groups = match self.what {
            Group(_, DayOfYear) | Anomaly(_, DayOfYear) => format!(" {YDAY}"),
            Group(_, Month) => format!(" {YMON}"),
            _ => String::new(),
        };
        // A sum's empty cells are 0, as its own paragraph says.
        let nan = if matches!(self.what, Time("nansum")) { "" } else { NAN };
        format!("{}{groups} {nan}", self.long).trim_end().to_string()
    }

    /// Its examples, in CDO's order and with --out (netCDF output in a build with it).
    fn after_help(&self) -> String {
        let ext = if cfg!(feature = "netcdf") { "nc" } else { "zarr" };
        format!(
            "Examples:\n  tessera {n} 'sst.*.zarr' {e}.{ext}\n  tessera {n} sst.1982.zarr sst.1983.zarr \
                --out {e}.npy --budget 2GiB",
            n = self.name,
            e = self.example
        )
    }

    /// The `tessera reduce` it is.
    fn compute(&self) -> (isize, Compute) {
        let op = |name: &str| name.parse::<Reduction>().expect("a verb's reduction parses");
        match self.what {
            Time(r) => (0, Compute::Reduce(op(r))),
            Group(r, by) => (0, Compute::Group(op(r), by)),
            Anomaly(r, by) => (0, Compute::Anomaly(op(r), by)),
            Zonal(r) => (-1, Compute::Reduce(op(r))),
            Field => (0, Compute::Field),
        }
    }
}

/// The options of a verb: those of `tessera reduce` but --op, --axis and --groupby.
#[derive(Args, Debug)]
pub struct VerbArgs {
    #[command(flatten)]
    pub io: Io,
    #[command(flatten)]
    pub run: RunOptions,
}

/// A verb and its options, as parsed (the subcommands are made from [`VERBS`]).
#[derive(Debug)]
pub struct VerbCommand {
    /// Which verb.
    pub verb: &'static Verb,
    /// Its options.
    pub args: VerbArgs,
}

impl VerbCommand {
    /// Run it: the files joined along time (axis 0), reduced along its axis.
    pub fn run(self) -> Result<(), Failure> {
        let (axis, compute) = self.verb.compute();
        Job::new(&self.args.io, &self.args.run, 0, axis, compute)?.execute()
    }
}

impl FromArgMatches for VerbCommand {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let (name, sub) =
            m.subcommand().ok_or_else(|| clap::Error::new(clap::error::ErrorKind::MissingSubcommand))?;
        let verb = VERBS.iter().find(|v| v.name == name).ok_or_else(|| {
            clap::Error::raw(clap::error::ErrorKind::InvalidSubcommand, format!("no verb '{name}'"))
        })?;
        Ok(VerbCommand { verb, args: VerbArgs::from_arg_matches(sub)? })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Subcommand for VerbCommand {
    fn augment_subcommands(cmd: Command) -> Command {
        cmd.subcommands(VERBS.iter().map(|v| {
            // After the options: they bring VerbArgs's own description.
            VerbArgs::augment_args(Command::new(v.name))
                .about(v.about)
                .long_about(v.long_about())
                .after_help(v.after_help())
                .override_usage(format!(
                    "tessera {n} [OPTIONS] <INPUT>... <OUTPUT>\n       tessera {n} [OPTIONS] --out <FILE> \
                        <INPUT>...",
                    n = v.name
                ))
        }))
    }

    fn augment_subcommands_for_update(cmd: Command) -> Command {
        Self::augment_subcommands(cmd)
    }

    fn has_subcommand(name: &str) -> bool {
        VERBS.iter().any(|v| v.name == name)
    }
}
