# Stale detection: feed lenta expects a corte every 2 s (PrepUpdateInterval
# 2s); after 3 intervals without a new one its state is `stale`, ?check=
# answers 503, and the error log has a warning about it.  It keeps serving
# the last corte meanwhile, and a new corte makes it fresh again.
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

my $pkg = make_package(out => "$tmp/PREP_lenta_1.tar.gz", corte => '2024-06-02T21:05:00-06:00',
                       seed => 91, files => 300);
my ($f, $took) = upload_and_wait($pkg, $feed, timeout => 20);
my $loaded = time;
ok $f, 'a corte is published' or give_up('lenta: no corte');
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

my $pkg2 = make_package(out => "$tmp/PREP_lenta_2.tar.gz", corte => '2024-06-02T21:10:00-06:00',
                        seed => 92, files => 300);
($f) = upload_and_wait($pkg2, $feed, timeout => 20);
ok $f, 'a new corte is published';
is $f && $f->{state}, 'serving', 'the new corte makes the feed fresh again';

done_testing;
