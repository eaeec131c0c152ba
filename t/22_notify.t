# PrepNotify against a real httpd (feed aviso; its command is
# conf/notify-record.sh, which records each run in prep/aviso/notify/):
# every journal event from the server's start on (start, seen, published,
# refused, rollback, unpin, pin from prepctl…) runs the command once, in
# journal order, as the server's User, with `EVENT FEED [CORTE_ID]` after
# its own argument, a clean environment (PATH, LANG, PREP_*) and the right
# PREP_* values; PREP_SERVED_ID is what the server serves while the
# command runs (its X-PREP-Corte-Id, or the X-PREP-Corte time of
# PREP_SERVED_TIME).  Each run is journaled as "notify" with its status
# and output, never notified itself.  A command that exits 3 is logged
# (PREP0148) and journaled with status 3.  A command that hangs is killed
# at 30 s (signal 15, killed true) while packages go on being published
# in the usual time, and never more than one command of the feed runs.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use JSON::PP ();
use Time::HiRes qw(time sleep);
use PrepTest;

my $feed = 'aviso';
my $tmp  = tmp_dir();
my $rec_dir = t_dir() . "/prep/$feed/notify";
my $script  = t_dir() . '/conf/notify-record.sh';
my $JSON = JSON::PP->new->utf8->canonical;

# Every record of the command, in the order of its runs.
sub records {
    my @r;
    for my $file (sort glob "$rec_dir/*.rec") {
        my %r = (file => $file, args => [], hdr => {});
        for my $l (split /\n/, slurp($file)) {
            if ($l =~ /^arg=(.*)$/)             { push @{ $r{args} }, $1 }
            elsif ($l =~ /^hdr ([^=]+)=(.*)$/) { $r{hdr}{ lc $1 } = $2 }
            elsif ($l =~ /^([A-Za-z_]+)=(.*)$/) { $r{$1} = $2 }
        }
        push @r, \%r;
    }
    return @r;
}

sub wait_record {
    my ($timeout, $cb) = @_;
    return wait_for($timeout, sub { (grep { $cb->($_) } records())[0] });
}

sub wait_notify {
    my ($timeout, $cb) = @_;
    return wait_journal($feed, $timeout, sub { $_[0]{event} eq 'notify' && $cb->($_[0]) });
}

# The command processes of this feed running now (the shell of the script).
sub commands_running {
    my @pids;
    for my $dir (glob '/proc/[0-9]*') {
        open my $fh, '<', "$dir/cmdline" or next;
        local $/;
        my $cmd = <$fh> // '';
        close $fh;
        my @argv = split /\0/, $cmd;
        push @pids, $dir =~ m{(\d+)$} if grep({ $_ eq $script } @argv) && grep({ $_ eq $feed } @argv);
    }
    return scalar @pids;
}

# ---------------------------------------------------------------- start
my $start = wait_record(15, sub { ($_[0]{PREP_EVENT} // '') eq 'start' });
ok $start, 'the journal\'s "start" line ran the command' or give_up('no run of PrepNotify');
is_deeply $start->{args}, ['start', $feed], 'start: argv EVENT FEED after the configured argument';
is $start->{uid}, $<, 'start: the command runs as the server\'s User';
is $start->{cwd}, '/', 'start: in /';
is $start->{PATH}, '/usr/local/bin:/usr/bin:/bin', 'start: PATH';
is $start->{LANG}, 'C.UTF-8', 'start: LANG';
my @foreign = grep { !/^(PATH|LANG|PREP_\w+|PWD|OLDPWD|SHLVL|_)$/ } split ' ', $start->{envnames} // '';
is_deeply \@foreign, [], 'start: a clean environment (PATH, LANG, PREP_*)';
is $start->{PREP_FEED}, $feed, 'start: PREP_FEED';
is $start->{PREP_STORE}, store($feed), 'start: PREP_STORE';
is $start->{PREP_INCOMING}, incoming($feed), 'start: PREP_INCOMING';
is $start->{PREP_DRILL}, '0', 'start: PREP_DRILL 0';
my $sj = eval { $JSON->decode($start->{PREP_JOURNAL}) } // {};
is $sj->{event}, 'start', 'start: PREP_JOURNAL is the journal line';
is $start->{PREP_AT}, $sj->{at}, 'start: PREP_AT is its "at"';
my $n0 = wait_notify(10, sub { $_[0]{for} eq 'start' });
ok $n0, 'start: journaled as "notify"' or diag join "\n", journal_lines($feed);
is $n0 && $n0->{status}, 0, 'notify: status 0';
is $n0 && $n0->{argv0}, $script, 'notify: argv0';
like $n0 && $n0->{output}, qr/^registrado \d+ start/, 'notify: the output';
ok $n0 && !$n0->{killed} && !defined $n0->{signal}, 'notify: not killed, no signal';
ok $n0 && defined $n0->{ms} && $n0->{ms} =~ /^\d+$/, 'notify: ms';
is $n0 && $n0->{for_at}, $sj->{at}, 'notify: for_at, the event\'s "at"';

# the script asks the server what it serves as it runs
mkdir $rec_dir;
spit("$rec_dir/url", url_for("/prep/$feed/json/main.json"));

# ---------------------------------------------------------------- published
sub publish {
    my ($name, $iso, $seed) = @_;
    my $pkg = make_package(out => "$tmp/$name", corte => $iso, seed => $seed, files => 40);
    my ($f, $took) = upload_and_wait($pkg, $feed, timeout => 30);
    ok $f, "$name is published" or give_up("$name not published");
    return ($f->{corte}{id}, $took, $pkg);
}

# the served corte as the record saw it: X-PREP-Corte-Id, else its time
sub served_seen {
    my $r = shift;
    return $r->{hdr}{'x-prep-corte-id'} if exists $r->{hdr}{'x-prep-corte-id'};
    return $r->{hdr}{'x-prep-corte'};
}
sub served_expected {
    my $r = shift;
    return $r->{PREP_SERVED_ID} if exists $r->{hdr}{'x-prep-corte-id'};
    return $r->{PREP_SERVED_TIME};
}

my ($id_a) = publish('PREP_aviso_2105.tar.gz', '2024-06-02T21:05:00-06:00', 221);
my $pa = wait_record(10, sub { ($_[0]{PREP_EVENT} // '') eq 'published' && $_[0]{PREP_CORTE_ID} eq $id_a });
ok $pa, 'published: the command ran' or diag join ' ', map { $_->{PREP_EVENT} } records();
$pa //= {};
is_deeply $pa->{args}, ['published', $feed, $id_a], 'published: argv EVENT FEED CORTE_ID';
is $pa->{PREP_CORTE_TIME}, '2024-06-02T21:05:00-06:00', 'published: PREP_CORTE_TIME';
is $pa->{PREP_PACKAGE}, 'PREP_aviso_2105.tar.gz', 'published: PREP_PACKAGE';
is $pa->{PREP_PACKAGE_PATH}, store($feed) . '/processed/PREP_aviso_2105.tar.gz', 'published: PREP_PACKAGE_PATH in the store';
is $pa->{PREP_SERVED_ID}, $id_a, 'published: PREP_SERVED_ID is the new corte';
is $pa->{PREP_SERVED_TIME}, '2024-06-02T21:05:00-06:00', 'published: PREP_SERVED_TIME';
ok length(served_seen($pa) // ''), 'published: the server answered the command';
is served_seen($pa), served_expected($pa), 'published: what the server serves as the command runs is PREP_SERVED_*';
my $seen_a = (grep { ($_->{PREP_EVENT} // '') eq 'seen' && $_->{PREP_PACKAGE} eq 'PREP_aviso_2105.tar.gz' } records())[0];
ok $seen_a, 'seen: the command ran for the package handed to a loader';
ok $seen_a && $seen_a->{file} lt $pa->{file}, 'seen: before published';

my ($id_b) = publish('PREP_aviso_2110.tar.gz', '2024-06-02T21:10:00-06:00', 222);
my $pb = wait_record(10, sub { ($_[0]{PREP_EVENT} // '') eq 'published' && $_[0]{PREP_CORTE_ID} eq $id_b }) // {};
is served_seen($pb), served_expected($pb), 'published again: the server serves PREP_SERVED_* as the command runs';
is $pb->{PREP_SERVED_ID}, $id_b, 'published again: PREP_SERVED_ID the new corte';

# ---------------------------------------------------------------- refused
{
    my $bad = "$tmp/PREP_aviso_roto.tar.gz";
    spit($bad, "esto no es un paquete\n" x 100);
    upload_renamed($bad, $feed);
    my $r = wait_record(20, sub { ($_[0]{PREP_EVENT} // '') eq 'refused' }) // {};
    ok $r->{PREP_EVENT}, 'refused: the command ran';
    is $r->{PREP_PACKAGE}, 'PREP_aviso_roto.tar.gz', 'refused: PREP_PACKAGE';
    ok length($r->{PREP_REASON} // ''), 'refused: PREP_REASON (' . ($r->{PREP_REASON} // '') . ')';
    my $j = eval { $JSON->decode($r->{PREP_JOURNAL} // '') } // {};
    is $r->{PREP_REASON}, $j->{reason}, 'refused: PREP_REASON is the journal\'s reason';
    is $r->{PREP_MESSAGE}, $j->{message}, 'refused: PREP_MESSAGE is the journal\'s message';
    is $r->{PREP_PACKAGE_PATH}, store($feed) . '/rejected/PREP_aviso_roto.tar.gz', 'refused: PREP_PACKAGE_PATH in rejected/';
    is $r->{PREP_SERVED_ID}, $id_b, 'refused: the corte served is still the last good one';
    is_deeply $r->{args}, ['refused', $feed], 'refused: no corte id in argv';
}

# ---------------------------------------------------------------- prepctl
my $me = unix_user();
{
    my $rb = prepctl_idle('rollback', $feed);
    is $rb->{rc}, 0, 'prepctl rollback' or diag $rb->{err};
    my $r = wait_record(10, sub { ($_[0]{PREP_EVENT} // '') eq 'rollback' }) // {};
    ok $r->{PREP_EVENT}, 'rollback: the command ran';
    is $r->{PREP_CORTE_ID}, $id_a, 'rollback: PREP_CORTE_ID the corte served now';
    is $r->{PREP_SERVED_ID}, $id_a, 'rollback: PREP_SERVED_ID the corte rolled back to';
    is served_seen($r), served_expected($r), 'rollback: the server already serves it as the command runs';
    is $r->{PREP_USER}, $me, 'rollback: PREP_USER';
    is_deeply $r->{args}, ['rollback', $feed, $id_a], 'rollback: argv';

    my $un = prepctl_idle('unpin', $feed);
    is $un->{rc}, 0, 'prepctl unpin' or diag $un->{err};
    my $u = wait_record(10, sub { ($_[0]{PREP_EVENT} // '') eq 'unpin' }) // {};
    is $u->{PREP_SERVED_ID}, $id_b, 'unpin: PREP_SERVED_ID the newest corte again';
    is served_seen($u), served_expected($u), 'unpin: the server already serves it as the command runs';

    my $pin = prepctl_idle('pin', $feed);
    is $pin->{rc}, 0, 'prepctl pin' or diag $pin->{err};
    my $p = wait_record(10, sub { ($_[0]{PREP_EVENT} // '') eq 'pin' }) // {};
    ok $p->{PREP_EVENT}, 'pin: the command ran';
    is $p->{PREP_CORTE_ID}, $id_b, 'pin: PREP_CORTE_ID the corte pinned';
    is $p->{PREP_USER}, $me, 'pin: PREP_USER';
    $un = prepctl_idle('unpin', $feed);
    is $un->{rc}, 0, 'prepctl unpin again' or diag $un->{err};
    ok wait_record(10, sub { ($_[0]{PREP_EVENT} // '') eq 'unpin' && $_[0]{file} gt $p->{file} }), 'unpin: the command ran';
}

# ---------------------------------------------------------------- a failing command
{
    my $log0 = error_log_size();
    spit("$rec_dir/fail", '');
    my ($id_c) = publish('PREP_aviso_2115.tar.gz', '2024-06-02T21:15:00-06:00', 223);
    my $n = wait_notify(15, sub { $_[0]{for} eq 'published' && $_[0]{status} == 3 });
    ok $n, 'a command that exits 3: "notify" journaled with status 3' or diag join "\n", journal_lines($feed);
    like $n && $n->{output}, qr/falla adrede/, 'notify: its output';
    ok $n && !$n->{killed}, 'notify: not killed';
    unlink "$rec_dir/fail";
    my $log = wait_for(5, sub { my $t = error_log_since($log0); $t =~ /PREP0148: .*published.*status 3/ ? $t : undef });
    ok $log, 'the error log says so (PREP0148, status 3)';
    like $log // '', qr/\[[\w:]*warn\].*PREP0148: feed aviso: .*status 3.*falla adrede/, 'a warning with the output\'s first line';
    is corte_id($feed), $id_c, 'the corte was published anyway';
}

# ---------------------------------------------------------------- a command that hangs
{
    my $log0 = error_log_size();
    spit("$rec_dir/hang", '');
    my $t0 = time;
    my ($id_d) = publish('PREP_aviso_2120.tar.gz', '2024-06-02T21:20:00-06:00', 224);
    my $hung = wait_record(10, sub { !-e "$rec_dir/hang" && ($_[0]{PREP_EVENT} // '') eq 'seen'
                                     && $_[0]{PREP_PACKAGE} eq 'PREP_aviso_2120.tar.gz' });
    ok $hung, 'the command hangs on "seen"' or diag join ' ', map { $_->{PREP_EVENT} } records();
    my $t_hang = $hung ? $hung->{started} : $t0;
    my $max = 0;
    my @took;
    for my $i (1 .. 2) {
        my $c = commands_running();
        $max = $c if $c > $max;
        my (undef, $took) = publish("PREP_aviso_212${i}.tar.gz", "2024-06-02T21:2$i:30-06:00", 225 + $i);
        push @took, $took;
        $c = commands_running();
        $max = $c if $c > $max;
    }
    ok $took[$_] < 15, sprintf('a package during the hang is served in the usual time (%.1f s)', $took[$_]) for 0 .. 1;
    ok time - $t_hang < 29, 'both while the command still hangs';
    while (time - $t_hang < 28) {
        my $c = commands_running();
        $max = $c if $c > $max;
        sleep 0.5;
    }
    is $max, 1, 'never more than one command of the feed at a time';
    my $k = wait_notify(12, sub { $_[0]{for} eq 'seen' && $_[0]{killed} });
    ok $k, 'the hung command is killed and journaled' or diag join "\n", journal_lines($feed);
    $k //= {};
    is $k->{signal}, 15, 'killed: by SIGTERM';
    ok !defined $k->{status}, 'killed: no exit status';
    cmp_ok $k->{ms}, '>=', 29500, "killed: after 30 s ($k->{ms} ms)";
    cmp_ok $k->{ms}, '<', 34000, 'killed: not much later';
    like $k->{output}, qr/colgado/, 'killed: its output so far';
    like error_log_since($log0), qr/PREP0148: feed aviso: PrepNotify \S+ for seen was killed after 30 s/, 'the error log says it was killed';
    # the events queued meanwhile run next, in order
    my $last = wait_record(20, sub { ($_[0]{PREP_EVENT} // '') eq 'published'
                                     && ($_[0]{PREP_PACKAGE} // '') eq 'PREP_aviso_2122.tar.gz' });
    ok $last, 'the events queued during the hang run afterwards';
    sleep 1;
    is commands_running(), 0, 'no command left running';
}

# ---------------------------------------------------------------- journal order
{
    sleep 1.5;    # the last results journaled
    my @j = grep { $_ } journal($feed);
    my $i = 0;    # the journal began with this run of the suite
    my @events = grep { $_->{event} ne 'notify' } @j[$i .. $#j];
    my @notified = map { "$_->{PREP_AT} $_->{PREP_EVENT}" } records();
    is_deeply \@notified, [map { "$_->{at} $_->{event}" } @events],
        'one run per journal event, in journal order (' . scalar(@events) . ' events)';
    my @notes = grep { $_->{event} eq 'notify' } @j[$i .. $#j];
    is scalar(@notes), scalar(@events), 'one "notify" line per run';
    is_deeply [map { $_->{for_at} } @notes], [map { $_->{at} } @events], '"notify" lines in the order of their events';
    ok !(grep { ($_->{PREP_EVENT} // '') eq 'notify' } records()), '"notify" events are not notified';
}

done_testing();
