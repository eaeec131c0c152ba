# Stale detection: feed lenta expects a corte every 2 s (PrepUpdateInterval
# 2s); after 3 intervals without a new one its state is `stale`, ?check=
# answers 503, and the error log has a warning about it.  It keeps serving
# the last corte meanwhile, and a new corte makes it fresh again.  The
# journal says so: "stale" (served, age_s) once per stale period, however
# long it lasts, and "fresh" (served, stale_s) with the new corte; the new
# corte's own stale period gets its own single "stale" line.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);
use PrepTest;

my $feed = 'lenta';
my $tmp  = tmp_dir();
my $log0 = error_log_size();
my $n0   = scalar(journal_lines($feed));

# The journal lines of an event written from line n0 on.
sub events_since {
    my ($event, $from) = @_;
    my @j = journal($feed);
    return grep { $_ && ($_->{event} // '') eq $event } @j[($from // $n0) .. $#j];
}

my $pkg = make_package(out => "$tmp/PREP_lenta_1.tar.gz", corte => '2024-06-02T21:05:00-06:00',
                       seed => 91, files => 300);
my ($f, $took) = upload_and_wait($pkg, $feed, timeout => 20);
my $loaded = time;
ok $f, 'a corte is published' or give_up('lenta: no corte');
my $id1 = $f->{corte}{id};
is $f->{state}, 'serving', 'state right after the load: serving (the age counts from the load, not from the corte time)';
is http(GET => '/prep-status?check=lenta')->code, 200, '?check=lenta → 200 while fresh';

my $stale = wait_for(20, sub { my $s = status_feed($feed); $s && $s->{state} eq 'stale' ? $s : undef });
ok $stale, 'state becomes stale' or diag explain status_feed($feed);
my $after = time - $loaded;
diag sprintf 'stale %.1f s after the load', $after;
cmp_ok $after, '>=', 5, 'not before 3 intervals (6 s, 1 s of slack)';
cmp_ok $stale ? $stale->{age_s} : 0, '>=', 5, 'age_s reflects the time since the corte was published';
is http(GET => '/prep-status?check=lenta')->code, 503, '?check=lenta → 503 when stale';

my $r = http(GET => '/prep/lenta/json/main.json');
is $r->code, 200, 'a stale feed keeps serving its last corte';
is $r->header('X-PREP-Corte'), '2024-06-02T21:05:00-06:00', 'the same corte';

my $log = wait_for(10, sub { my $t = error_log_since($log0); $t =~ /stale/i ? $t : undef }) // error_log_since($log0);
like $log, qr/^.*\[[^\]]*:(warn|error|crit|alert|emerg)\].*stale.*$/mi, 'a warning in the error log mentions stale';
like $log, qr/stale.*lenta|lenta.*stale/i, 'and names the feed';

# ---------------------------------------------------------------- journal: stale
my $pub1 = wait_journal($feed, 5, sub { $_[0]{event} eq 'published' }, $n0);
my $st1 = wait_journal($feed, 5, sub { $_[0]{event} eq 'stale' }, $n0);
ok $st1, 'journal: "stale" once the feed is stale' or diag join "\n", journal_lines($feed);
$st1 //= {};
is $st1->{served}, $id1, 'stale: served is the id of the corte still served';
like $st1->{age_s} // '', qr/^\d+$/, 'stale: age_s is a whole number of seconds';
cmp_ok $st1->{age_s} // 0, '>=', 5, 'stale: age_s, at least 3 intervals (6 s, 1 s of slack)';
if ($pub1 && $st1->{at}) {
    my $since = iso_to_epoch($st1->{at}) - iso_to_epoch($pub1->{at});
    cmp_ok abs(($st1->{age_s} // 0) - $since), '<=', 2,
        "stale: age_s ($st1->{age_s}) is the time since the published line ($since s)";
}
# The feed stays stale for 4 s more (two more intervals): still one line.
sleep 4;
is status_feed($feed)->{state}, 'stale', 'still stale 4 s later';
is scalar(events_since('stale')), 1, 'exactly one "stale" line for the stale period, not one per check';
ok !events_since('fresh'), 'and no "fresh" while it lasts';

my $pkg2 = make_package(out => "$tmp/PREP_lenta_2.tar.gz", corte => '2024-06-02T21:10:00-06:00',
                        seed => 92, files => 300);
($f) = upload_and_wait($pkg2, $feed, timeout => 20);
ok $f, 'a new corte is published';
is $f && $f->{state}, 'serving', 'the new corte makes the feed fresh again';
my $id2 = $f ? $f->{corte}{id} : '';
my $stale_for = time - (iso_to_epoch($st1->{at} // '') // time);

# ---------------------------------------------------------------- journal: fresh
my $fr = wait_journal($feed, 5, sub { $_[0]{event} eq 'fresh' }, $n0);
ok $fr, 'journal: "fresh" once the new corte is served' or diag join "\n", journal_lines($feed);
$fr //= {};
is $fr->{served}, $id2, 'fresh: served is the id of the new corte';
isnt $fr->{served}, $id1, 'fresh: not the stale one';
like $fr->{stale_s} // '', qr/^\d+$/, 'fresh: stale_s is a whole number of seconds';
cmp_ok $fr->{stale_s} // 0, '>=', 4, 'fresh: stale_s covers the 4 s the test waited stale';
cmp_ok $fr->{stale_s} // 0, '<=', $stale_for + 2,
    sprintf('fresh: stale_s (%s) at most the time since the "stale" line (%.1f s)', $fr->{stale_s} // '?', $stale_for);
{
    my @j = journal($feed);
    my ($i_st, $i_pub2, $i_fr);
    for my $i ($n0 .. $#j) {
        my $e = $j[$i] or next;
        $i_st //= $i if $e->{event} eq 'stale';
        $i_pub2 //= $i if $e->{event} eq 'published' && ref $e->{corte} eq 'HASH' && ($e->{corte}{id} // '') eq $id2;
        $i_fr //= $i if $e->{event} eq 'fresh';
    }
    ok defined $i_st && defined $i_pub2 && defined $i_fr && $i_st < $i_pub2 && $i_pub2 < $i_fr,
        'journal order: stale, then the new corte published, then fresh';
}
is scalar(events_since('fresh')), 1, 'exactly one "fresh" line';

# ---------------------------------------------------------------- a second stale period
my $st2 = wait_journal($feed, 15, sub { $_[0]{event} eq 'stale' && ($_[0]{served} // '') eq $id2 }, $n0);
ok $st2, 'the new corte goes stale in turn: a second "stale" line, serving the new corte'
    or diag join "\n", journal_lines($feed);
cmp_ok $st2 ? $st2->{age_s} : 0, '>=', 5, 'its age_s counts from the new corte';
is scalar(events_since('stale')), 2, 'two stale periods, two "stale" lines';

done_testing;
