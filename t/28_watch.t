# inotify on PrepIncoming (issue 13).  Feed vigilada (PrepSettleTime 30):
# an upload renamed into place (NAME.part, then a rename) is complete and is
# published at once, not after the settle time; the status says `inotify`.
# Feed vigilada2 (PrepSettleTime 4): a package written under its final name
# whose mtime is set back after it is closed (what `sftp put -p` and
# WinSCP's "preserve timestamp" do) settles PrepSettleTime after the close,
# not after two polls of its old mtime.  PrepIncoming moved away and made
# again: the feed is polled (the status says `poll` and why), still
# publishes, and is watched again within seconds.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use File::Copy qw(copy);
use Time::HiRes qw(time sleep);
use PrepTest;

my $tmp = tmp_dir();
my @pkg = map {
    make_package(out => "$tmp/PREP_W_$_->[0].tar.gz", corte => "2024-06-02T$_->[1]:00-06:00",
                 seed => 280 + $_->[2], files => 60)
} (['2105', '21:05', 1], ['2110', '21:10', 2], ['2115', '21:15', 3], ['2120', '21:20', 4]);

# 1. renamed in: published at once
ok wait_for(15, sub { (status_feed('vigilada') // {})->{watch} eq 'inotify' }),
    'the status says PrepIncoming is watched with inotify'
    or diag explain status_feed('vigilada');
is status_feed('vigilada')->{watch_reason}, undef, 'with no reason to poll';
my $inc = incoming('vigilada');
copy($pkg[0], "$inc/PREP_W_2105.tar.gz.part") or die;
my $t0 = time;
rename "$inc/PREP_W_2105.tar.gz.part", "$inc/PREP_W_2105.tar.gz" or die;
my $f = wait_new_corte('vigilada', undef, 25);
my $took = time - $t0;
ok $f, 'the renamed upload is published' or diag explain status_feed('vigilada');
diag sprintf 'published %.2f s after the rename (PrepSettleTime 30)', $took;
cmp_ok $took, '<', 15, 'without waiting for PrepSettleTime (30 s): a rename says the upload is complete';

# 2. written under its final name, its mtime set back after the close
my $inc2 = incoming('vigilada2');
my $name = "$inc2/PREP_W_2110.tar.gz";
copy($pkg[1], $name) or die;
my $closed = time;
utime time - 3600, time - 3600, $name or die;
sleep 2.5 - (time - $closed) if time - $closed < 2.5;
ok !defined corte_id('vigilada2'), 'a package written under its final name is not read before PrepSettleTime from its close (its mtime is an hour old)';
my $g = wait_new_corte('vigilada2', undef, 20);
ok $g, 'and is published once it has stayed closed and unchanged for PrepSettleTime';
diag sprintf 'published %.2f s after the close (PrepSettleTime 4)', time - $closed;

# 3. PrepIncoming moved away and made again: polled, then watched again
rename $inc2, "$inc2.old" or die;
mkdir $inc2 or die;
chmod 0755, $inc2;
ok wait_for(10, sub { (status_feed('vigilada2') // {})->{watch} eq 'poll' }),
    'PrepIncoming moved away: the feed is polled';
like status_feed('vigilada2')->{watch_reason} // '', qr/moved or removed/, 'and the status says why';
my $old = corte_id('vigilada2');
copy($pkg[2], "$inc2/PREP_W_2115.tar.gz.part") or die;
rename "$inc2/PREP_W_2115.tar.gz.part", "$inc2/PREP_W_2115.tar.gz" or die;
my $h = wait_new_corte('vigilada2', $old, 30);
ok $h && $h->{corte}{package} eq 'PREP_W_2115.tar.gz', 'polled, an upload is still published';
ok wait_for(25, sub { (status_feed('vigilada2') // {})->{watch} eq 'inotify' }),
    'within seconds it is watched again';
is status_feed('vigilada2')->{watch_reason}, undef, 'with no reason to poll';
like error_log_since(0), qr/PREP0161: feed vigilada2: .* is polled, not watched/, 'the error log says it is polled (PREP0161)';
like error_log_since(0), qr/PREP0162: feed vigilada2: .* is watched again/, 'and when it is watched again (PREP0162)';
$old = corte_id('vigilada');
copy($pkg[3], "$inc/PREP_W_2120.tar.gz.part") or die;
$t0 = time;
rename "$inc/PREP_W_2120.tar.gz.part", "$inc/PREP_W_2120.tar.gz" or die;
ok wait_new_corte('vigilada', $old, 25), 'the other feed, watched all along, publishes a renamed upload';
cmp_ok time - $t0, '<', 15, 'at once again (PrepSettleTime 30)';
system('rm', '-rf', "$inc2.old");

done_testing;
