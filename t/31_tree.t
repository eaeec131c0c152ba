# PrepSource tree (docs/packages.md, "A tree updated in place"): PrepIncoming
# is a tree the institute updates in place with real rsync.  Feed arbol: a
# first rsync is published as a snapshot (tree-…Z.tar, set aside in
# processed/ with its sidecar), the status says the tree is walked; a
# second rsync --delete that changes, adds and deletes files gives a new
# corte with exactly those changes; an rsync killed half-way (its
# .NAME.XXXXXX left in the tree) publishes nothing, readers keep the corte,
# and once the tree has not been quiet for 10 × PrepSettleTime it is
# reported (status problem, PREP0164); the rsync run again publishes it
# (PREP0165); a graceful restart does not load the tree again; a symbolic
# link in the tree is refused as `link`, a directory the loader cannot read
# as `unreadable`, PrepIncoming itself unreadable is reported, and the
# corte stays.  Feed arbolv
# (PrepVerify sha256): the tree's manifest SHA256SUMS checked, never
# served; files rsynced without their manifest (an update cut half-way)
# are refused as `verify`, the corte stays, and the manifest's arrival
# publishes them.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use File::Path qw(make_path);
use File::Basename qw(dirname);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use PrepTest;

plan skip_all => 'rsync is not installed' unless grep { -x "$_/rsync" } split /:/, $ENV{PATH};

my $tmp = tmp_dir();

sub rsync {
    my ($from, $feed, @opts) = @_;
    system('rsync', '-a', @opts, "$from/", incoming($feed) . '/') == 0
        or die "rsync $from failed\n";
}

# A tree of corte HH:MM from genpackage (seed, files), unpacked by tar.
sub tree_of {
    my ($name, $hhmm, $seed) = @_;
    my $pkg = make_package(out => "$tmp/$name.tar.gz", corte => "2024-06-02T$hhmm:00-06:00",
                           seed => $seed, files => 120);
    return extract_package($pkg);
}

sub manifest {
    my $dir = shift;
    system("cd '$dir' && rm -f SHA256SUMS && find . -type f -print0 "
           . "| sort -z | xargs -0 sha256sum > '$tmp/sums' && mv '$tmp/sums' SHA256SUMS") == 0
        or die "sha256sum failed\n";
}

sub rejected_of {
    my ($feed, $reason) = @_;
    return wait_for(20, sub {
        my $f = status_feed($feed) or return undef;
        my ($r) = grep { ($_->{reason} // '') eq $reason } @{ $f->{rejected} || [] };
        return $r;
    });
}

# --- arbol: the first rsync -------------------------------------------
my $feed = 'arbol';
my $base = "/prep/$feed";
my $sto  = store($feed);
my $x1 = tree_of('T2105', '21:05', 31);
my @files1 = tree_files($x1);
my $t0 = time;
rsync($x1, $feed);
my $f = wait_new_corte($feed, undef, 20);
ok $f, 'the tree rsynced into PrepIncoming is published' or give_up('arbol: ' . explain(status_feed($feed)));
my $id1 = $f->{corte}{id};
like $f->{corte}{package}, qr/^tree-\d{8}T\d{6}Z\.tar$/, "made from a snapshot of the tree ($f->{corte}{package})";
is $f->{corte}{time}, '2024-06-02T21:05:00-06:00', 'its corte time is that of the tree\'s json/main.json';
is $f->{watch}, 'poll', 'a tree is walked, not watched with inotify';
like $f->{watch_reason} // '', qr/PrepSource tree/, 'and the status says why';
my @served1 = grep { !m{(^|/)\.} } @files1; # a hidden path is never served
is $f->{corte}{files}, scalar(@served1), 'every file of the tree is in the corte';
is http(GET => "$base/json/main.json")->content, slurp("$x1/json/main.json"), 'json/main.json is the tree\'s';
my $snap = $f->{corte}{package};
ok -f "$sto/processed/$snap", 'the snapshot is set aside in processed/, as a package is';
ok -f "$sto/processed/$snap.sha256", '... with its SHA-256 sidecar';
ok -f "$sto/snapshot/last", 'the store keeps the signature of the tree loaded';
ok -f incoming($feed) . '/json/main.json', 'the tree itself stays where it is';
my @seen = grep { $_ && $_->{event} eq 'seen' } journal($feed);
is scalar(@seen), 1, 'the tree was seen once';

# --- a second rsync that changes, adds and deletes ---------------------
my $x2 = tree_of('T2110', '21:10', 31);
my ($gone) = grep { m{^json/.+\.json$} && $_ ne 'json/main.json' } @files1;
unlink "$x2/$gone" or die "cannot remove $gone\n";
make_path("$x2/json/nuevo");
spit("$x2/json/nuevo/aviso.json", qq({"nuevo": true}\n));
my ($csv) = grep { /\.csv$/ } @files1;
spit("$x2/$csv", slurp("$x2/$csv") . "99,99,99\n");
rsync($x2, $feed, '--delete');
$f = wait_new_corte($feed, $id1, 20);
ok $f, 'the tree rsynced again (--delete) gives a new corte' or give_up('arbol: ' . explain(status_feed($feed)));
my $id2 = $f->{corte}{id};
is $f->{corte}{time}, '2024-06-02T21:10:00-06:00', 'of the new json/main.json';
is http(GET => "$base/$gone")->code, 404, "the file deleted from the tree ($gone) is gone from the corte";
is http(GET => "$base/json/nuevo/aviso.json")->content, qq({"nuevo": true}\n), 'the file added is served';
is http(GET => "$base/$csv")->content, slurp("$x2/$csv"), 'the file changed serves its new bytes';

# --- an rsync killed half-way -------------------------------------------
my $x3 = tree_of('T2115', '21:15', 31);
open my $big, '>', "$x3/datos/grande.csv" or die;
print {$big} join(',', map { int(rand(1000)) } 1 .. 20) . "\n" for 1 .. 150_000;
close $big;
# killed as a power cut or an OOM kill would: every rsync process at once
# (its receiver, killed alone, would remove its temporary name)
my $pid = fork // die;
if (!$pid) {
    setpgrp(0, 0);
    open STDOUT, '>', '/dev/null';
    open STDERR, '>', '/dev/null';
    exec 'rsync', '-a', '--delete', '--bwlimit=1500', "$x3/", incoming($feed) . '/';
    exit 127;
}
my $temp = wait_for(20, sub {
    opendir my $dh, incoming($feed) . '/datos' or return undef;
    my ($t) = grep { /^\.grande\.csv\.\w{6}$/ && -s incoming($feed) . "/datos/$_" } readdir $dh;
    return $t;
}, 0.05);
kill 'KILL', -$pid;
waitpid $pid, 0;
ok $temp, "rsync was killed while it wrote datos/$temp" or give_up('rsync left no temporary name');
ok -e incoming($feed) . "/datos/$temp", 'its temporary name is left in the tree';
sleep 3;
is corte_id($feed), $id2, 'a tree with an upload in progress is not published: the corte stays';
is http(GET => "$base/json/main.json")->content, slurp("$x2/json/main.json"), 'readers keep the corte';
my $log0 = error_log_size();
sub problem { my $s = status_feed(shift) or return ''; ref $s->{problem} eq 'HASH' ? $s->{problem}{message} // '' : '' }
my $p = wait_for(15, sub { my $m = problem($feed); $m =~ /not been quiet/ ? $m : undef });
ok $p, 'once restless for 10 × PrepSettleTime, the status says so' or diag explain(status_feed($feed));
like $p // '', qr/upload in progress/, "naming the upload in progress ($p)";
like error_log_since(0), qr/PREP0164: feed arbol: the tree .* has not been quiet/, 'and the error log (PREP0164)';
rsync($x3, $feed, '--delete');
$f = wait_new_corte($feed, $id2, 20);
ok $f, 'the rsync run again to its end publishes the tree' or give_up('arbol: ' . explain(status_feed($feed)));
my $id3 = $f->{corte}{id};
is $f->{corte}{time}, '2024-06-02T21:15:00-06:00', 'of the third json/main.json';
ok !-e incoming($feed) . "/datos/$temp", 'rsync --delete took the old temporary name away';
is length(http(GET => "$base/datos/grande.csv")->content), -s "$x3/datos/grande.csv", 'the big file whole';
ok wait_for(5, sub { problem($feed) !~ /not been quiet/ }), 'the problem is gone';
like error_log_since($log0), qr/PREP0165: feed arbol: the tree .* is quiet again/, 'PREP0165';

# --- a graceful restart does not load the same tree again --------------
my $seen_before = grep { $_ && $_->{event} eq 'seen' } journal($feed);
restart_graceful();
sleep 4;
is corte_id($feed), $id3, 'after a graceful restart the corte is the same';
is scalar(grep { $_ && $_->{event} eq 'seen' } journal($feed)), $seen_before, 'and the tree was not loaded again';

# --- a link in the tree -----------------------------------------------------
symlink '/etc/passwd', incoming($feed) . '/json/enlace.json' or die;
my $r = rejected_of($feed, 'link');
ok $r, 'a symbolic link in the tree: its snapshot is refused as link' or diag explain(status_feed($feed));
like $r->{message} // '', qr{json/enlace\.json.*/etc/passwd}, 'naming the link and its target';
is corte_id($feed), $id3, 'and the corte stays';
is http(GET => "$base/json/enlace.json")->code, 404, 'the link is never served';
unlink incoming($feed) . '/json/enlace.json';
my $n0 = () = journal($feed);
ok wait_journal($feed, 20, sub { $_[0]{event} eq 'same-corte' }, $n0 - 1) || 0, 'the link taken away: the tree is that of the corte served (same-corte)';
is corte_id($feed), $id3, 'the corte is still the same';

# --- a directory the loader account cannot read ----------------------------
my $n1 = () = journal($feed);
chmod 0, incoming($feed) . '/datos' or die;
$r = wait_journal($feed, 20, sub { $_[0]{event} eq 'refused' }, $n1);
chmod 0755, incoming($feed) . '/datos';
ok $r, 'a directory of the tree the loader cannot read: refused' or diag explain(status_feed($feed));
is $r->{reason}, 'unreadable', 'as unreadable';
like $r->{message} // '', qr/"datos"/, 'naming the directory';
is corte_id($feed), $id3, 'the corte stays';

# --- PrepIncoming itself unreadable: reported, not taken for quiet ------------
my $log1 = error_log_size();
chmod 0, incoming($feed) or die;
my $q = wait_for(15, sub { my $m = problem($feed); $m =~ /cannot be read/ ? $m : undef });
chmod 0755, incoming($feed);
ok $q, 'PrepIncoming unreadable by the loader: reported once restless' or diag explain(status_feed($feed));
like error_log_since($log1), qr/PREP0164: feed arbol: .*cannot be read/, 'PREP0164 says it cannot be read';
is corte_id($feed), $id3, 'the corte stays';
ok wait_for(5, sub { problem($feed) !~ /not been quiet/ }), 'readable again: the problem is gone';

# --- arbolv: PrepVerify sha256 against the tree's SHA256SUMS -----------------
my $fv = 'arbolv';
my $v1 = tree_of('V2105', '21:05', 41);
manifest($v1);
rsync($v1, $fv);
$f = wait_new_corte($fv, undef, 20);
ok $f, 'a tree with its manifest SHA256SUMS is published' or give_up('arbolv: ' . explain(status_feed($fv)));
my $vid1 = $f->{corte}{id};
is http(GET => "/prep/$fv/SHA256SUMS")->code, 404, 'the manifest is not served';

my $v2 = tree_of('V2110', '21:10', 41);
manifest($v2);
rsync($v2, $fv, '--delete', '--exclude=SHA256SUMS');
$r = rejected_of($fv, 'verify');
ok $r, 'files updated without their manifest (an update cut half-way) are refused as verify'
    or diag explain(status_feed($fv));
like $r->{message} // '', qr/SHA-256 of the tree's file .* SHA256SUMS says/, "the message says which file ($r->{message})";
is corte_id($fv), $vid1, 'the corte stays';
rsync($v2, $fv, '--delete');
$f = wait_new_corte($fv, $vid1, 20);
ok $f, 'the manifest arrives: the tree is published' or give_up('arbolv: ' . explain(status_feed($fv)));
is $f->{corte}{time}, '2024-06-02T21:10:00-06:00', 'the new corte';

done_testing();
